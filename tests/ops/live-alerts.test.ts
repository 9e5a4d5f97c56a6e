import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { FAST_LIFECYCLE, startTestServer, type TestServer } from '../helpers/testServer.js';
import { DASHBOARD_FILES, loadDashboard, promQueries, substituteVariables } from './dashboards.js';
import { scrapeEverySecond, waitFor, type PrometheusServer } from './prometheus-harness.js';

/**
 * The shipped alert rules and dashboards against reality: the real service (real PostgreSQL,
 * simulated feeds, short watchdog and stale thresholds) scraped by a real Prometheus every second.
 */
let server: TestServer;
let prometheus: PrometheusServer;

beforeAll(async () => {
  server = await startTestServer({ ...FAST_LIFECYCLE, MAX_RUN_DURATION_MS: '2000', SCHEDULER_ENABLED: 'true', SCRAPE_INTERVAL_SECONDS: '3600', WATCHDOG_INTERVAL_SECONDS: '1' });
  prometheus = await scrapeEverySecond(server.port, ['grafana/alerts/oddswatch.rules.yml'], 'oddswatch_stale_runs_total');
}, 120_000);
afterAll(async () => {
  await prometheus?.stop();
  await server?.close();
});

async function firing(alertname: string, timeoutMs: number) {
  return waitFor(
    async () => (await prometheus.alerts()).find((alert) => alert.labels.alertname === alertname && alert.state === 'firing'),
    { timeoutMs, what: `${alertname} to fire (Prometheus log: ${prometheus.logs().slice(-500)})` },
  );
}

describe('alerts fire in a real Prometheus scraping the real service', () => {
  it('OddswatchStaleRuns fires when the watchdog fails a hung run', async () => {
    const started = Date.now();
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['luckyowl'] } })).json()) as RunDetail;
    const failed = await server.waitForRun(run.id, ['failed'], 20_000);
    server.platforms.simulated!.set('luckyowl', { hang: false });
    expect(failed.failureReason).toBe('stale');
    const alert = await firing('OddswatchStaleRuns', 60_000);
    expect(alert.labels).toMatchObject({ severity: 'page', job: 'oddswatch' });
    expect(alert.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchstaleruns$/);
    console.log(`OddswatchStaleRuns firing ${((Date.now() - started) / 1000).toFixed(1)} s after the hung run started (run failed stale after ${((Date.parse(failed.finishedAt!) - Date.parse(failed.createdAt)) / 1000).toFixed(1)} s)`);
  }, 90_000);

  it('OddswatchConnectionFailures fires when watchers of observed runs keep dropping', async () => {
    const started = Date.now();
    server.platforms.simulated!.set('northwind', { latencyMs: 200, pages: 3 });
    for (let index = 0; index < 3; index += 1) {
      // An observed run that nobody watches: connection_failed once the grace period is over.
      const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['northwind', 'redfox'], observe: true } })).json()) as RunDetail;
      expect((await server.waitForRun(run.id, ['connection_failed', 'completed'], 20_000)).status).toBe('connection_failed');
    }
    server.platforms.simulated!.set('northwind', { latencyMs: 20, pages: 2 });
    const alert = await firing('OddswatchConnectionFailures', 60_000);
    expect(alert.labels).toMatchObject({ severity: 'ticket', job: 'oddswatch' });
    expect(Number(alert.value)).toBeGreaterThanOrEqual(3);
    console.log(`OddswatchConnectionFailures firing ${((Date.now() - started) / 1000).toFixed(1)} s after the first observed run started`);
  }, 90_000);
});

describe('dashboards against the live Prometheus', () => {
  it('every panel query evaluates, and the core panels return data', async () => {
    const completed = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['northwind', 'bluepeak'] } })).json()) as RunDetail;
    await server.waitForRun(completed.id, ['completed']);
    await waitFor(async () => ((await prometheus.query('oddswatch_platform_last_success_timestamp_seconds')).data?.result.length ?? 0) >= 2, { timeoutMs: 20_000 });

    const queries = DASHBOARD_FILES.flatMap((file) => promQueries(loadDashboard(file)));
    expect(queries.length).toBeGreaterThan(10);
    const results = new Map<string, number>();
    for (const query of queries) {
      const expr = substituteVariables(query.expr, query.interval).replaceAll('(alpha|beta)', '.+');
      const response = await prometheus.query(expr);
      expect(response.status, `${query.where}\n${expr}\n${response.error}`).toBe('success');
      results.set(query.where, response.data?.result.length ?? 0);
    }
    for (const core of ['Runs finished by status', 'SSE subscribers by stream', 'Freshness per platform']) {
      const rows = [...results].filter(([where]) => where.includes(`/ ${core} /`));
      expect(rows.length, `no query found for panel ${core}`).toBeGreaterThan(0);
      expect(rows.some(([, count]) => count > 0), `panel ${core} returned no data`).toBe(true);
    }
  }, 90_000);
});

describe('thresholds from the live scrape interval', () => {
  it('the stale threshold the rules record is 3 scrape intervals, and follows an interval set through the API', async () => {
    const threshold = async () => Number((await prometheus.query('oddswatch:platform_stale_after:seconds')).data?.result[0]?.value?.[1]);
    await waitFor(async () => (await threshold()) === 3 * 3600, { timeoutMs: 20_000, what: 'the threshold at SCRAPE_INTERVAL_SECONDS=3600' });
    const patched = await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 3000 } });
    expect(patched.status).toBe(200);
    await waitFor(async () => (await threshold()) === 3 * 3000, { timeoutMs: 20_000, what: 'the threshold after PATCH intervalSeconds=3000' });
  }, 60_000);
});
