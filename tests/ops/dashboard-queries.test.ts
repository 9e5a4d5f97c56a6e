import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_FILES, loadDashboard, promQueries, substituteVariables } from './dashboards.js';
import { startPrometheus, waitFor, type PrometheusServer } from './prometheus-harness.js';
import { filesEndingWith, readYaml } from './repo.js';

/**
 * Every PromQL expression of the Grafana dashboards is sent to a real Prometheus (with the
 * oddswatch rules loaded and no targets): each must parse and evaluate. Dashboards that use a
 * recording rule must use one that exists.
 */

const RULE_FILES = filesEndingWith('grafana/alerts', '.rules.yml');
const recordedNames = new Set(
  RULE_FILES.flatMap((file) =>
    readYaml<{ groups: { rules: { record?: string }[] }[] }>(file).groups.flatMap((group) =>
      group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
    ),
  ),
);

const queries = DASHBOARD_FILES.flatMap((file) => promQueries(loadDashboard(file)));

describe('dashboard queries against a real Prometheus', () => {
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    prometheus = await startPrometheus({ ruleFiles: RULE_FILES, scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 1 });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('finds PromQL in every dashboard', () => {
    expect(DASHBOARD_FILES.length).toBeGreaterThanOrEqual(2);
    for (const file of DASHBOARD_FILES) expect(promQueries(loadDashboard(file)).length, file).toBeGreaterThan(0);
  });

  it.each(queries.map((query) => [query.where, query] as const))('%s evaluates', async (_where, query) => {
    const expr = substituteVariables(query.expr, query.interval);
    expect(expr, 'a template variable was left unsubstituted').not.toMatch(/\$\{?\w/);
    const response = await prometheus.query(expr);
    expect(response.status, `${query.where}\n${expr}\n${response.errorType}: ${response.error}`).toBe('success');
  });

  it('uses only recording rules that the rule files define', () => {
    for (const query of queries) {
      for (const name of query.expr.match(/\boddswatch:[a-z0-9_:]+/g) ?? []) {
        expect(recordedNames.has(name), `${query.where} uses ${name}, which no rule records`).toBe(true);
      }
    }
  });

  it('loads and evaluates the rules: with no oddswatch target, OddswatchAbsent goes pending', async () => {
    const absent = await waitFor(
      async () => (await prometheus.alerts()).find((alert) => alert.labels.alertname === 'OddswatchAbsent'),
      { timeoutMs: 15_000, what: 'OddswatchAbsent in /api/v1/alerts' },
    );
    // for: 5m keeps it pending this early; firing is the promtool unit test's job.
    expect(absent.state).toBe('pending');
    expect(absent.labels).toMatchObject({ job: 'oddswatch', severity: 'page' });
    expect(absent.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchabsent$/);
  });
});
