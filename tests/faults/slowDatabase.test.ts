import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_RUN_STATUSES, type RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * The built service talks to PostgreSQL through a TCP proxy that delays every chunk. With ~100 ms per
 * round trip heartbeats come late but the watchdog (run continuously) never fails the run as stale; the
 * watchdog's own query answers within the statement timeout, and stays bounded even when the database
 * is far slower than that.
 */
const HEARTBEAT_INTERVAL_MS = 300;
const STALE_AFTER_MS = 1_500;
const STATEMENT_TIMEOUT_MS = 2_000;
const DELAY_PER_DIRECTION_MS = 50;
let db: TestDatabase;
let proxy: TcpProxy;
let service: ChildService;

beforeAll(async () => {
  db = await createTestDatabase();
  const direct = new URL(db.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  service = await spawnService({
    DATABASE_URL: viaProxy.toString(),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
    STALE_AFTER_MS: String(STALE_AFTER_MS),
    SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 150, pages: 4, eventsPerPage: 10 } }),
  });
});
afterAll(async () => {
  if (proxy) proxy.delayMs = 0;
  await service?.stop('SIGTERM');
  await proxy?.close();
  await db?.drop();
});

/** One run-now of the watchdog job, timed. */
async function runWatchdog(): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(`${service.url}/api/scheduler/jobs/detect_stale_runs/run`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  const body = await response.text();
  return { status: response.status, ms: Math.round(performance.now() - started), body };
}

/** A run from start to its end, the watchdog run-now back to back meanwhile; the oldest heartbeat seen (read directly). */
async function runWithWatchdog(): Promise<{ run: RunDetail; durationMs: number; watchdogMs: number[]; oldestHeartbeatMs: number }> {
  const started = performance.now();
  const created = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['northwind', 'redfox'] }) });
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as RunDetail;
  const watchdogMs: number[] = [];
  let oldestHeartbeatMs = 0;
  const run = await waitFor(async () => {
    const watchdog = await runWatchdog();
    expect(watchdog.status, watchdog.body).toBe(200);
    watchdogMs.push(watchdog.ms);
    const [row] = await db.query<{ status: string; age_ms: number | null }>('select status, (extract(epoch from now() - heartbeat_at) * 1000)::int as age_ms from runs where id = $1', [id]);
    if (row?.status === 'running' && row.age_ms !== null) oldestHeartbeatMs = Math.max(oldestHeartbeatMs, row.age_ms);
    const detail = (await (await fetch(`${service.url}/api/runs/${id}`)).json()) as RunDetail;
    return (TERMINAL_RUN_STATUSES as readonly string[]).includes(detail.status) ? detail : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100, what: `run ${id} to end` });
  return { run, durationMs: Math.round(performance.now() - started), watchdogMs, oldestHeartbeatMs };
}

describe('a slow database (TCP proxy adding latency)', () => {
  it('heartbeats come late but no run is failed as stale; the watchdog answers within the statement timeout', async () => {
    const baseline = await runWithWatchdog();
    expect(baseline.run.status).toBe('completed');

    expect(proxy.connections(), 'the service reaches PostgreSQL through the proxy').toBeGreaterThan(0);
    proxy.delayMs = DELAY_PER_DIRECTION_MS;
    const slow = await runWithWatchdog();
    expect(slow.run.status, JSON.stringify(slow.run)).toBe('completed');
    expect(slow.run.failureReason ?? null).toBeNull();
    expect(Math.max(...slow.watchdogMs)).toBeLessThan(STATEMENT_TIMEOUT_MS);
    expect(slow.oldestHeartbeatMs).toBeLessThan(STALE_AFTER_MS);

    // Far slower than the statement timeout: the watchdog's answer is still bounded (the client gives up).
    proxy.delayMs = STATEMENT_TIMEOUT_MS * 2;
    const stuck = await runWatchdog();
    proxy.delayMs = 0;
    expect(stuck.ms).toBeLessThan(STATEMENT_TIMEOUT_MS + 3_000);
    expect(stuck.status, stuck.body).toBeLessThan(600);
    expect(stuck.body).not.toMatch(/\bat .+\.(js|ts):\d+/);
    await waitFor(async () => (await fetch(`${service.url}/readyz`)).status === 200, { timeoutMs: 20_000, intervalMs: 200, what: '/readyz after the latency is gone' });
    const ratio = Math.round((slow.durationMs / baseline.durationMs) * 100) / 100;
    recordFault({
      name: 'database slow (TCP proxy latency)',
      endState: `runs completed with ${DELAY_PER_DIRECTION_MS * 2} ms added per round trip, none failed as stale; watchdog run-now answered 200 within the statement timeout; with ${STATEMENT_TIMEOUT_MS * 4} ms per round trip it answered ${stuck.status} within the timeout plus margin`,
      figure: {
        added_round_trip_ms: DELAY_PER_DIRECTION_MS * 2,
        run_ms_no_latency: baseline.durationMs,
        run_ms_with_latency: slow.durationMs,
        run_duration_ratio: ratio,
        oldest_heartbeat_ms: slow.oldestHeartbeatMs,
        stale_after_ms: STALE_AFTER_MS,
        watchdog_max_ms_with_latency: Math.max(...slow.watchdogMs),
        watchdog_ms_db_stuck: stuck.ms,
        statement_timeout_ms: STATEMENT_TIMEOUT_MS,
      },
    });
  });
});
