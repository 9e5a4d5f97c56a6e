import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import type { TestDatabase } from '../helpers/testDatabase.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwawayPostgres.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Issue 13 defect 0.7: a runner whose database goes away mid-run must not leave its run `running` until
 * the watchdog (every start would answer 409 meanwhile). PostgreSQL is a throwaway cluster of this test,
 * stopped for a few seconds mid-run and started again on the same port.
 */
let cluster: ThrowawayPostgres;
let server: TestServer;
let pool: pg.Pool;
const TERMINAL = ['completed', 'partial', 'failed', 'connection_failed'] as const;

beforeAll(async () => {
  cluster = await startThrowawayPostgres();
  pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
  pool.on('error', () => undefined); // idle clients die with the cluster
  const db: TestDatabase = {
    url: cluster.url,
    name: 'postgres',
    query: async (sql, params) => (await pool.query(sql, params as unknown[])).rows,
    drop: async () => undefined,
  };
  // Watchdog far away: the run must end by the runner's own doing.
  server = await startTestServer({ SCRAPE_CONCURRENCY: '6', STALE_AFTER_MS: '600000', HEARTBEAT_INTERVAL_MS: '200', WATCHDOG_INTERVAL_SECONDS: '3600' }, db);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await pool?.end();
  await cluster?.destroy();
});

describe('a database outage in the middle of a run', () => {
  it('PostgreSQL stopped for 3 s mid-run: the run still ends in a terminal status soon after it is back, and the next run starts', async () => {
    for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 150, pages: 12, eventsPerPage: 5 });
    const response = await server.api('/api/runs', { method: 'POST', json: {} });
    expect(response.status).toBe(202);
    const run = (await response.json()) as RunDetail;
    await server.waitForRun(run.id, ['running']);
    await waitFor(() => server.logs.some((line) => line.run_id === run.id && line.msg === 'platform scrape started'), { what: 'a platform to start' });

    await cluster.stop('fast');
    // The outage itself: its length is the scenario, not a wait for a condition.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await cluster.start();
    const backAt = Date.now();

    const ended = await server.waitForRun(run.id, [...TERMINAL], 30_000);
    const endedAfterMs = Date.now() - backAt;
    console.log(`run ${run.id} ended ${ended.status}${ended.failureReason ? ` (${ended.failureReason})` : ''} ${endedAfterMs} ms after PostgreSQL was back`);
    expect(endedAfterMs).toBeLessThan(20_000);
    // The writes were retried, or the runner stopped when the liveness lock went with the database and the run was taken over once it was back.
    expect(server.logs.some((line) => line.msg === 'database unreachable; retrying the write' || line.msg.startsWith('runner lost the database') || (line.run_id === run.id && line.msg.startsWith('run taken over')))).toBe(true);
    expect(server.logs.some((line) => line.msg === 'runner crashed')).toBe(false);
    const [active] = await server.db.query<{ n: number }>(`select count(*)::int as n from runs where status in ('pending', 'running')`);
    expect(active!.n).toBe(0);

    for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 20, pages: 2 });
    // Right after the outage a start may answer 503 (with Retry-After) until the process holds its liveness lock
    // again; a client retries, and within seconds the start is accepted.
    const refused: string[] = [];
    const next = await waitFor(
      async () => {
        const answer = await server.api('/api/runs', { method: 'POST', json: {} });
        if (answer.status === 202) return answer;
        expect(answer.status).toBe(503);
        refused.push(((await answer.json()) as { error: { code: string } }).error.code);
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'a start accepted after the outage' },
    );
    expect(refused.every((code) => code === 'not_owning_runs' || code === 'database_unavailable')).toBe(true);
    const nextRun = await server.waitForRun(((await next.json()) as RunDetail).id, ['completed']);
    expect(nextRun.status).toBe('completed');
  }, 90_000);
});
