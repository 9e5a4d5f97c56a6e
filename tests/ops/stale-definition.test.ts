import { describe, expect, it } from 'vitest';
import { STALE_AFTER_INTERVALS } from '../../src/shared/contract.js';
import { readYaml } from './repo.js';

/**
 * One definition of stale (glossary): no successful scrape for longer than STALE_AFTER_INTERVALS scrape intervals.
 * The service (GET /api/odds, the dashboard through it) reads the constant; the rules can only quote it, so this
 * holds them to the same number, and every rule about staleness to the one recorded threshold.
 */
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
const rules = readYaml<{ groups: { rules: Rule[] }[] }>('grafana/alerts/oddswatch.rules.yml').groups.flatMap((group) => group.rules);
const squash = (expr: string) => expr.replace(/\s+/g, ' ').trim();

describe('the stale threshold of the alert rules', () => {
  it('is STALE_AFTER_INTERVALS times the live scrape interval', () => {
    const threshold = rules.find((rule) => rule.record === 'oddswatch:platform_stale_after:seconds');
    expect(threshold, 'no oddswatch:platform_stale_after:seconds record').toBeDefined();
    expect(squash(threshold!.expr)).toBe(`${STALE_AFTER_INTERVALS} * oddswatch:scrape_interval:seconds`);
    expect(squash(rules.find((rule) => rule.record === 'oddswatch:scrape_interval:seconds')!.expr)).toBe('max by (job) (oddswatch_scrape_interval_seconds)');
  });

  it('is what every staleness alert compares the age with, never a number of seconds', () => {
    for (const name of ['OddswatchNoFreshOdds', 'OddswatchSchedulerPaused']) {
      const expr = squash(rules.find((rule) => rule.alert === name)!.expr);
      expect(expr, name).toContain('oddswatch:platform_last_success:age_seconds > on (job) group_left () oddswatch:platform_stale_after:seconds');
    }
  });
});
