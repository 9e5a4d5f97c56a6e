import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

let db: TestDatabase;
let service: ChildService;
beforeAll(async () => {
  db = await createTestDatabase();
  // The built service in its own process with the default simulated bookmakers, so its clients do not share its event loop.
  service = await spawnService({ DATABASE_URL: db.url, SSE_MAX_STREAMS_PER_CLIENT: '100000' });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

async function run(): Promise<RunDetail> {
  const created = (await (await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as RunDetail;
  return waitFor(
    async () => {
      const current = (await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail;
      return current.finishedAt ? current : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `run ${created.id} to finish` },
  );
}

describe('SSE fan-out to many subscribers', () => {
  it('delivers every event of a run to each of 500 global-stream subscribers, in order, and does not slow the run', async () => {
    const alone = [(await run()).durationMs!];
    const clients: SseClient[] = [];
    for (let batch = 0; batch < 10; batch += 1) clients.push(...(await Promise.all(Array.from({ length: 50 }, () => connectSse(`${service.url}/api/events`)))));
    const watched = await run();
    const expected = (await db.query<{ id: string }>('select id from run_events where run_id = $1 order by id', [watched.id])).map((row) => row.id);
    expect(expected.at(-1)).toBeDefined();
    await waitFor(() => clients.every((client) => client.events.some((event) => event.id === expected.at(-1))), { timeoutMs: 20_000, what: 'run.finished at every client' });
    for (const client of clients) {
      const ids = client.events.filter((event) => event.data.runId === watched.id).map((event) => event.id);
      expect(ids).toEqual(expected); // every event, in order, no duplicate
    }
    for (const client of clients) client.close();
    alone.push((await run()).durationMs!);
    const ratio = watched.durationMs! / Math.max(...alone);
    console.log(`run with 500 subscribers: ${watched.durationMs} ms; without: ${alone.join(', ')} ms (${ratio.toFixed(2)}x)`);
    expect(ratio).toBeLessThanOrEqual(1.5);
  }, 180_000);
});
