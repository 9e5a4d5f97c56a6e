import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { DASHBOARD_FILES, loadDashboard, parsePromQL, promQueries, substituteVariables, type Panel } from './dashboards.js';
import { startPrometheus, waitFor, type PrometheusServer } from './prometheus-harness.js';
import { filesEndingWith, readYaml } from './repo.js';

/**
 * Every PromQL expression of the Grafana dashboards is sent to a real Prometheus (with the
 * oddswatch rules loaded and no targets): each must parse and evaluate. Dashboards that use a
 * recording rule must use one that exists. Then against the real service (the built process with its
 * telemetry, as `npm start` runs it) scraped by a real Prometheus: every metric and label a query reads is
 * one the service exports, every query selects the dashboard's job and instance, and the service-health
 * row shows data.
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

/** Panel queries (not the variables: $job lists jobs, $instance the instances of a job). */
const panelQueries = DASHBOARD_FILES.flatMap((file) => {
  const dashboard = loadDashboard(file);
  return promQueries(dashboard).filter((query) => !query.where.includes('/ variable $'));
});

describe('job and instance', () => {
  it('every dashboard has job and instance variables, and every selector of every panel query uses both', () => {
    for (const file of DASHBOARD_FILES) {
      const names = (loadDashboard(file).templating?.list ?? []).map((variable) => variable.name);
      expect(names, file).toEqual(expect.arrayContaining(['job', 'instance']));
    }
    expect(panelQueries.length).toBeGreaterThan(30);
    for (const query of panelQueries) {
      const { selectors } = parsePromQL(query.expr);
      expect(selectors.length, query.where).toBeGreaterThan(0);
      for (const selector of selectors) {
        expect(selector.matchers, `${query.where}: ${selector.metric}`).toEqual(
          expect.arrayContaining([
            { label: 'job', op: '=~', value: '$job' },
            { label: 'instance', op: '=~', value: '$instance' },
          ]),
        );
      }
    }
  });
});

describe('dashboards against the real service', () => {
  let db: TestDatabase;
  let service: ChildService;
  let prometheus: PrometheusServer;
  let exported: MetricsSnapshot;
  /** Metric name -> the labels its series carry, from the service's own exposition. */
  const labelsOf = new Map<string, Set<string>>();

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await spawnService({
      DATABASE_URL: db.url,
      SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 10, pages: 2, eventsPerPage: 3 }, redfox: { failureRate: 1 } }),
    });
    const port = Number(new URL(service.url).port);
    prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], scrapeIntervalSeconds: 1 });
    // Requests after the first scrape: rate() sees them (a counter first scraped at its final value has a rate of 0).
    await waitFor(async () => ((await prometheus.query('process_cpu_time_seconds_total')).data?.result.length ?? 0) > 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the first scrape of the service',
    });
    const created = (await (
      await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["northwind","redfox"]}' })
    ).json()) as RunDetail;
    await waitFor(async () => ((await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail).status === 'partial', { what: 'the run to end partial' });
    // A series is born at its first request: keep requesting until Prometheus has seen some of them increase.
    const rateOf = async (selector: string) => Number((await prometheus.query(`sum(rate(http_server_request_duration_seconds_count{${selector}}[1m]))`)).data?.result[0]?.value?.[1] ?? 0);
    await waitFor(
      async () => {
        await Promise.all([`/api/runs/${created.id}`, '/api/runs/987654321', '/api/platforms'].map(async (path) => (await fetch(`${service.url}${path}`)).arrayBuffer()));
        return (await rateOf('http_route="/api/runs/:id", http_response_status_code="404"')) > 0 && (await rateOf('http_route="/api/platforms"')) > 0;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'Prometheus to see requests by route' },
    );
    exported = await MetricsSnapshot.scrape(`${service.url}/metrics`);
    for (const line of exported.text.split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
      if (!match) continue;
      const labels = labelsOf.get(match[1]!) ?? new Set<string>();
      for (const label of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g) ?? []) labels.add(label[1]!);
      labelsOf.set(match[1]!, labels);
    }
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop('SIGTERM');
    await db?.drop();
  });

  it('reads only metrics the service exports (or recording rules), with labels their series carry', () => {
    const queries = DASHBOARD_FILES.flatMap((file) => promQueries(loadDashboard(file)));
    for (const query of queries) {
      const { selectors, grouping } = parsePromQL(query.expr);
      const available = new Set(['job', 'instance']);
      for (const selector of selectors) {
        if (recordedNames.has(selector.metric)) continue;
        const labels = labelsOf.get(selector.metric);
        expect(labels, `${query.where} reads ${selector.metric}, which the service does not export`).toBeDefined();
        for (const label of labels!) available.add(label);
        for (const { label } of selector.matchers) {
          if (label === 'job' || label === 'instance') continue;
          expect(labels!.has(label), `${query.where}: ${selector.metric} has no label ${label}`).toBe(true);
        }
      }
      if (selectors.some((selector) => recordedNames.has(selector.metric))) continue;
      for (const label of grouping) expect(available.has(label), `${query.where} groups by ${label}, which none of its series carries`).toBe(true);
    }
  });

  it('shows the service-health row with data of the real process: requests, errors and latency by route, memory, CPU', async () => {
    const overview = loadDashboard('grafana/dashboards/oddswatch-overview.json');
    const rowIndex = overview.panels.findIndex((panel) => panel.type === 'row' && panel.title === 'Service health');
    expect(rowIndex, 'a "Service health" row').toBeGreaterThanOrEqual(0);
    const end = overview.panels.findIndex((panel, index) => index > rowIndex && panel.type === 'row');
    const health: Panel[] = overview.panels.slice(rowIndex + 1, end === -1 ? undefined : end);
    const byTitle = (title: string) => {
      const panel = health.find((candidate) => candidate.title === title);
      expect(panel, `panel "${title}" in the service-health row`).toBeDefined();
      return panel!;
    };
    const results = async (panel: Panel) =>
      Promise.all(
        (panel.targets ?? []).map(async (target) => {
          const response = await prometheus.query(substituteVariables(target.expr!, panel.interval));
          expect(response.status, `${panel.title} ${target.refId}: ${response.error}`).toBe('success');
          return response.data?.result ?? [];
        }),
      );

    const [rate] = await results(byTitle('Request rate by route'));
    const routes = rate!.map((series) => series.metric.http_route);
    expect(routes).toEqual(expect.arrayContaining(['/api/runs', '/api/runs/:id', '/api/platforms']));
    const [fivexx, fourxx] = await results(byTitle('Errors by route (share of requests)'));
    // A route without errors is a 0, not a gap; the unknown run was a 404.
    expect(fivexx!.find((series) => series.metric.http_route === '/api/runs/:id')?.value?.[1]).toBe('0');
    expect(Number(fourxx!.find((series) => series.metric.http_route === '/api/runs/:id')?.value?.[1])).toBeGreaterThan(0);
    const latency = await results(byTitle('Latency by route (p50, p95, p99)'));
    for (const quantile of latency) expect(quantile.map((series) => series.metric.http_route)).toContain('/api/runs/:id');
    const [rss, heap] = await results(byTitle('Process memory'));
    expect(Number(rss![0]?.value?.[1])).toBeGreaterThan(Number(heap![0]?.value?.[1]));
    const [cpu] = await results(byTitle('Process CPU'));
    expect(cpu!.map((series) => series.metric.cpu_mode).sort()).toEqual(['system', 'user']);
    for (const title of ['Event loop', 'Open file descriptors', 'Database statements p95 by statement']) {
      const answers = await results(byTitle(title));
      expect(answers.every((answer) => answer.length > 0), `${title} returned no data`).toBe(true);
    }
  });

  it("shows the platforms dashboard's failures by reason: the failing platform's series carries its step's reason", async () => {
    const platformsDashboard = loadDashboard('grafana/dashboards/oddswatch-platforms.json');
    const panel = platformsDashboard.panels.find((candidate) => candidate.title === 'Failures by reason');
    expect(panel, 'a "Failures by reason" panel').toBeDefined();
    // Every platform selected ($platform), not the placeholder names substituteVariables gives it.
    const expr = substituteVariables(panel!.targets![0]!.expr!.replaceAll('$platform', '.+'), panel!.interval);
    const response = await prometheus.query(expr);
    expect(response.status, `${expr}: ${response.error}`).toBe('success');
    // redfox fails every scrape (SIM_FEEDS failureRate 1: HTTP 503); northwind, which completed, has no series here.
    expect((response.data?.result ?? []).map((series) => [series.metric.platform, series.metric.reason])).toEqual([['redfox', 'http_5xx']]);
  });
});
