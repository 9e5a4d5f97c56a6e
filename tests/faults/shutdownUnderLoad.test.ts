import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/** SIGTERM to the built service with 200 open streams and a run in flight. */
const SHUTDOWN_GRACE_MS = 3_000;
const STREAMS = 200;
let db: TestDatabase;
let service: ChildService | undefined;
const clients: SseClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const client of clients) client.close();
  await service?.stop('SIGKILL');
  await db?.drop();
});

describe('graceful shutdown under load', () => {
  it('exits within SHUTDOWN_GRACE_MS plus a few seconds, ends every stream, and leaves no run running', async () => {
    service = await spawnService({
      DATABASE_URL: db.url,
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      SSE_MAX_STREAMS_PER_CLIENT: String(STREAMS + 10),
      // A run far longer than the grace: it must be failed as interrupted, never left running.
      SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 1_000, pages: 60 } }),
    });
    const created = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['northwind'] }) });
    expect(created.status).toBe(202);
    const run = (await created.json()) as RunDetail;
    for (let batch = 0; batch < STREAMS / 50; batch += 1) {
      const paths = Array.from({ length: 50 }, (_, index) => (index % 2 ? '/api/events' : `/api/runs/${run.id}/events`));
      clients.push(...(await Promise.all(paths.map((path) => connectSse(`${service!.url}${path}`)))));
    }
    expect(clients.every((client) => client.status === 200)).toBe(true);
    await waitFor(async () => ((await (await fetch(`${service!.url}/api/runs/${run.id}`)).json()) as RunDetail).status === 'running', { what: 'the run to run' });

    const signalled = performance.now();
    const exit = await service.stop('SIGTERM');
    const exitMs = Math.round(performance.now() - signalled);
    expect(exit.code).toBe(0);
    expect(exitMs).toBeLessThan(SHUTDOWN_GRACE_MS + 5_000);
    await waitFor(() => clients.every((client) => client.isEnded()), { timeoutMs: 2_000, what: 'every stream to end' });
    const [row] = await db.query<{ status: string; failure_reason: string | null }>('select status, failure_reason from runs where id = $1', [run.id]);
    expect(row).toEqual({ status: 'failed', failure_reason: 'interrupted' });
    const running = await db.query("select id from runs where status in ('pending', 'running')");
    expect(running).toEqual([]);
    const errors = service.logs.filter((line) => Number(line.level) >= 50);
    expect(errors, JSON.stringify(errors.slice(0, 2))).toEqual([]);
    recordFault({
      name: 'graceful shutdown under load',
      endState: `SIGTERM with ${STREAMS} open streams and a run in flight: exit code 0, every stream ended, the run failed/interrupted, none left running`,
      figure: { shutdown_grace_ms: SHUTDOWN_GRACE_MS, exit_ms: exitMs, streams: STREAMS },
    });
  });
});
