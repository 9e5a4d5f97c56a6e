import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The metrics an SRE reads first, from the real service process started as `npm start` starts it (the
 * telemetry `--import`, so the HTTP and runtime instrumentations are on): per-route HTTP durations,
 * process CPU, memory and file descriptors, units in every name, and the database statement durations.
 */
let db: TestDatabase;
let service: ChildService;
let run: RunDetail;
let metrics: MetricsSnapshot;

const get = (path: string, init?: RequestInit) => fetch(`${service.url}${path}`, init);

beforeAll(async () => {
  db = await createTestDatabase();
  service = await spawnService({ DATABASE_URL: db.url, SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 10, pages: 2, eventsPerPage: 3 } }) });
  const created = (await (
    await get('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["northwind","bluepeak"]}' })
  ).json()) as RunDetail;
  run = await waitFor(async () => {
    const current = (await (await get(`/api/runs/${created.id}`)).json()) as RunDetail;
    return current.status === 'completed' ? current : undefined;
  }, { what: 'the run to complete' });
  expect((await get('/api/runs/987654321')).status).toBe(404);
  expect((await get('/api/no-such-route/4242')).status).toBe(404);
  expect((await get(`/api/platforms/northwind/history?limit=5`)).status).toBe(200);
  await (await get('/runs/31337')).text(); // a dashboard page (the SPA fallback; 503 when the dashboard is not built)
  // The server's duration is recorded when the response finishes: after the client has read it; the run's once
  // run.finished is recorded, just after the API already answers `completed`.
  metrics = await waitFor(async () => {
    const snapshot = await MetricsSnapshot.scrape(`${service.url}/metrics`);
    const recorded = snapshot.histogramCount('http_server_request_duration_seconds', { http_route: '/api/platforms/:name/history' }) >= 1 && snapshot.histogramCount('oddswatch_run_duration_seconds', { trigger: 'api', status: 'completed' }) >= 1;
    return recorded ? snapshot : undefined;
  }, { what: 'the request durations', timeoutMs: 5_000, intervalMs: 100 }).catch(async () => MetricsSnapshot.scrape(`${service.url}/metrics`));
}, 120_000);

afterAll(async () => {
  await service?.stop('SIGTERM');
  await db?.drop();
});

/** The families of the exposition: name, TYPE and UNIT. */
function families(text: string): { name: string; type: string; unit?: string }[] {
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => ({ name: match[1]!, type: match[2]! }));
  const units = new Map([...text.matchAll(/^# UNIT (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
  return types.map((family) => ({ ...family, unit: units.get(family.name) }));
}

describe('HTTP server durations', () => {
  it('carry the route template (http_route), never the raw path; no route is a bounded value', () => {
    const name = 'http_server_request_duration_seconds';
    const count = (labels: Record<string, string>) => metrics.histogramCount(name, labels);
    expect(count({ http_route: '/api/runs', http_request_method: 'POST', http_response_status_code: '202' })).toBe(1);
    expect(count({ http_route: '/api/runs/:id', http_request_method: 'GET', http_response_status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(count({ http_route: '/api/runs/:id', http_request_method: 'GET', http_response_status_code: '404' })).toBe(1);
    expect(count({ http_route: '/api/platforms/:name/history', http_response_status_code: '200' })).toBe(1);
    expect(count({ http_route: 'unmatched', http_response_status_code: '404' })).toBe(1);
    expect(count({ http_route: '/*' }), 'the dashboard (its SPA fallback)').toBe(1);
    const routes = new Set(metrics.samples(`${name}_count`).map((sample) => sample.labels.http_route));
    expect(routes.has(undefined), 'a series without http_route').toBe(false);
    for (const route of routes) expect(route, 'a raw path (an id) in http_route').not.toMatch(/\d{3,}|northwind|no-such-route/);
    expect(metrics.text).not.toContain(`/api/runs/${run.id}"`);
  });
});

describe('process metrics', () => {
  it('export CPU time, resident memory and open file descriptors of the process', () => {
    expect(metrics.type('process_cpu_time_seconds_total')).toBe('COUNTER');
    expect(metrics.value('process_cpu_time_seconds_total', { cpu_mode: 'user' })).toBeGreaterThan(0);
    expect(metrics.samples('process_cpu_time_seconds_total').map((sample) => sample.labels.cpu_mode).sort()).toEqual(['system', 'user']);
    // The child's resident set: tens of megabytes, not the heap alone.
    expect(metrics.value('process_memory_usage_bytes')).toBeGreaterThan(20 * 1024 * 1024);
    expect(metrics.value('process_memory_usage_bytes')).toBeGreaterThan(metrics.value('v8js_memory_heap_used_bytes'));
    if (process.platform === 'linux') {
      // stdio, the listening socket, the database pool, the event loop's own descriptors...
      expect(metrics.value('process_open_fds')).toBeGreaterThan(5);
      expect(metrics.value('process_max_fds')).toBeGreaterThanOrEqual(metrics.value('process_open_fds'));
    }
  });

  it('keep the Node runtime metrics: event-loop delay and utilization, heap, GC', () => {
    expect(metrics.has('nodejs_eventloop_delay_p99_seconds')).toBe(true);
    expect(metrics.type('nodejs_eventloop_time_seconds_total')).toBe('COUNTER');
    expect(metrics.has('v8js_memory_heap_used_bytes')).toBe(true);
    expect(metrics.type('v8js_gc_duration_seconds')).toBe('HISTOGRAM');
  });
});

describe('units', () => {
  it('one rule for every metric: the unit is the name suffix (seconds, bytes, ratio), histograms in seconds', () => {
    const all = families(metrics.text);
    expect(all.length).toBeGreaterThan(30);
    const suffix: Record<string, string> = { seconds: '_seconds', bytes: '_bytes', ratio: '_ratio' };
    for (const family of all) {
      const base = family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
      if (family.type === 'histogram') expect(family.name, 'a histogram not in seconds').toMatch(/_seconds$/);
      expect(family.name, 'a unit twice').not.toMatch(/_(seconds|bytes)_(seconds|bytes)/);
      if (family.unit === undefined) continue;
      expect(Object.keys(suffix), `${family.name}: unit ${family.unit}`).toContain(family.unit);
      expect(base.endsWith(suffix[family.unit]!), `${family.name} does not end in its unit ${family.unit}`).toBe(true);
    }
    // promtool's own checks of names and units (a gauge may not end in _count, a counter must end in _total...).
    const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics.text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim(), 'promtool check metrics').toBe('');
    expect(check.status).toBe(0);
    for (const name of ['http_server_request_duration_seconds', 'db_client_operation_duration_seconds', 'oddswatch_run_duration_seconds', 'v8js_gc_duration_seconds']) {
      expect(all.find((family) => family.name === name), name).toMatchObject({ type: 'histogram', unit: 'seconds' });
    }
  });
});

describe('database statement durations', () => {
  it('carry stable labels (no server port) and a statement summary a person can read', () => {
    const name = 'db_client_operation_duration_seconds_count';
    const samples = metrics.samples(name);
    expect(samples.length).toBeGreaterThan(3);
    for (const sample of samples) {
      expect(Object.keys(sample.labels).sort()).toEqual(
        ['db_namespace', 'db_operation_name', 'db_query_summary', 'db_system_name', 'server_address', ...('error_type' in sample.labels ? ['error_type'] : [])].sort(),
      );
      expect(sample.labels.db_namespace).toBe(db.name);
      expect(['SELECT', 'INSERT', 'UPDATE', 'DELETE']).toContain(sample.labels.db_operation_name);
      expect(sample.labels.db_query_summary).toMatch(/^(SELECT|INSERT|UPDATE|DELETE)( [a-z_]+)?( (SELECT|INSERT|UPDATE|DELETE) [a-z_]+)*$/);
    }
    const summaries = samples.map((sample) => sample.labels.db_query_summary);
    // The run's own writes: the run row inserted with its steps, the odds upserted with the platform's listings.
    expect(summaries).toContain('INSERT runs INSERT platform_steps');
    expect(summaries.some((summary) => /INSERT event_listings INSERT odds/.test(summary!))).toBe(true);
    expect(summaries.some((summary) => /^UPDATE runs/.test(summary!))).toBe(true);
  });
});
