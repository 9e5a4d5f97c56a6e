import { describe, expect, it } from 'vitest';
import { guardStatement, type StepFinishedGuard } from '../../src/events/eventGuard.js';

const judge = { fraction: 0.5, window: 10, minScrapes: 3 };
const finished: Omit<StepFinishedGuard, 'outcome'> = { kind: 'step.finished', platform: 'alpha', replica: 'replica-a', attempt: 2, eventsFound: 5, durationMs: 100, error: null, reason: null, odds: { odds: [], listings: [] }, markets: { checked: 0, implausible: 0, examples: [] } };

describe('the event guard, rendered by the publisher', () => {
  it('starts the step only while pending and held by the replica at its attempt, after the events lock, for the event run and platform', () => {
    const sql = guardStatement(7, { kind: 'step.started', platform: 'alpha', replica: 'replica-a', attempt: 2 });
    expect(sql.ctes).toMatch(/^guard as \(\s+update platform_steps s set status = 'running', started_at = now\(\)/);
    expect(sql.ctes).toContain("s.status = 'pending' and s.replica = ? and s.attempt = ? and exists (select 1 from lock)");
    expect(sql.params).toEqual([7, 'alpha', 'replica-a', 2]);
    expect(sql.payload).toBeUndefined();
    expect(sql.endsStep).toBeUndefined();
  });

  it('fails a step interrupted only while it has not ended, and counts it as ended', () => {
    const sql = guardStatement(7, { kind: 'step.interrupted', platform: 'alpha', error: 'interrupted: why' });
    expect(sql.ctes).toContain("reason = 'interrupted'");
    expect(sql.ctes).toContain("status in ('pending', 'running') and exists (select 1 from lock)");
    expect(sql.params).toEqual(['interrupted: why', 7, 'alpha']);
    expect(sql.endsStep).toBe(true);
  });

  it('judges the volume of a completed step only, and merges the verdict into the event', () => {
    const completed = guardStatement(7, { ...finished, outcome: 'completed', judge });
    expect(completed.ctes).toContain('usual as (');
    expect(completed.params.slice(0, 3)).toEqual(['alpha', 7, judge.window]);
    expect(completed.payload).toContain("jsonb_build_object('volumeDrop', volume_drop, 'expectedEvents', expected_events)");

    const failed = guardStatement(7, { ...finished, outcome: 'failed', error: 'boom', reason: 'http_5xx', judge });
    expect(failed.ctes).not.toContain('usual as (');
    expect(failed.ctes).toContain('error = ?, reason = ?,');
    expect(failed.params).toEqual(['failed', 5, 100, 'boom', 'http_5xx', 0, 0, null, 7, 'alpha', 'replica-a', 2, 5, 7, 'alpha', 5, 'replica-a', 2]);
    expect(failed.endsStep).toBe(true);
    expect(failed.payload).toBeUndefined();
  });

  it('stores the implausible-markets check with the step, its examples as JSON', () => {
    const example = { reason: 'overround_below_one' as const, eventName: 'A v B', bookmaker: 'alpha', market: 'match_result', prices: { home: 3.2, draw: 11.5, away: 6.4 }, overround: 0.5557 };
    const sql = guardStatement(7, { ...finished, outcome: 'completed', markets: { checked: 12, implausible: 1, examples: [example] } });
    expect(sql.ctes).toContain('markets_checked = ?, implausible_markets = ?, implausible_examples = ?::jsonb');
    expect(sql.params.slice(5, 8)).toEqual([12, 1, JSON.stringify([example])]);
  });

  it("writes the step's last odds in the same statement, before the guard", () => {
    const odds = {
      odds: [{ eventKey: 'k', eventName: 'n', market: 'm', selection: 's', bookmaker: 'alpha', price: 1.5, priceText: '1.5' }],
      listings: [{ eventKey: 'k', eventName: 'n', home: null, away: null, startsAt: null, firstKey: null, secondKey: null, sportingEventId: 1, swapped: false }],
    };
    const sql = guardStatement(7, { ...finished, outcome: 'completed', odds });
    expect(sql.ctes.indexOf('odds_upsert as (')).toBeGreaterThan(-1);
    expect(sql.ctes.indexOf('odds_upsert as (')).toBeLessThan(sql.ctes.indexOf('guard as ('));
    // The listings (each with its sporting event) are written by the same statement.
    expect(sql.ctes.indexOf('listings_upsert as (')).toBeGreaterThan(-1);
    expect(sql.ctes.indexOf('listings_upsert as (')).toBeLessThan(sql.ctes.indexOf('guard as ('));
  });
});
