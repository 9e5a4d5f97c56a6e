import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SSE_SUBSCRIBER_BUFFER: '20', SSE_WRITE_TIMEOUT_MS: '1000', PLATFORM_TIMEOUT_MS: '120000', SSE_MAX_STREAMS_PER_CLIENT: '100000' });
});
afterAll(async () => server?.close());

async function hangingRun(): Promise<RunDetail> {
  server.platforms.simulated!.set('redfox', { hang: true });
  const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
  await server.waitForRun(run.id, ['running']);
  return run;
}

describe('subscriber accounting', () => {
  it('returns to exactly zero after 500 clients connect and disconnect at random', async () => {
    const run = await hangingRun();
    const before = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    const closedBefore = before.value('oddswatch_sse_disconnects_total', { reason: 'client_closed' });
    let peak = 0;
    const clients = Array.from({ length: 500 }, async (_, index) => {
      const path = index % 2 === 0 ? `/api/runs/${run.id}/events` : '/api/events';
      const client = await connectSse(`${server.url}${path}`);
      peak = Math.max(peak, server.bus.subscriberCount('run') + server.bus.subscriberCount('global'));
      await new Promise<void>((resolve) => setTimeout(resolve, Math.random() * 200)); // random lifetimes
      client.close();
    });
    await Promise.all(clients);
    await waitFor(() => server.bus.subscriberCount('run') === 0 && server.bus.subscriberCount('global') === 0, { what: 'every subscription to end' });
    expect(peak).toBeGreaterThan(10);
    expect(server.bus.watcherCount(run.id)).toBe(0);
    const after = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    expect(after.value('oddswatch_sse_subscribers', { stream: 'run' })).toBe(0);
    expect(after.value('oddswatch_sse_subscribers', { stream: 'global' })).toBe(0);
    expect(after.value('oddswatch_sse_disconnects_total', { reason: 'client_closed' }) - closedBefore).toBe(500);
    await server.runs.finish(run.id, 'failed', 'interrupted', { actor: 'test' });
  }, 60_000);

  it('cuts a client that stops reading as slow, while a normal client on the same run gets every event on time', async () => {
    const run = await hangingRun();
    const slow = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    const normal = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await normal.waitForEvents(3);
    slow.pause();
    const slowBefore = (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_sse_disconnects_total', { stream: 'run', reason: 'slow' });

    // 150 large progress events (64 KiB each, ~10 MB): more than the paused socket's buffers can absorb.
    const padding = 'x'.repeat(64 * 1024);
    const latencies: number[] = [];
    for (let index = 0; index < 150; index += 1) {
      const published = Date.now();
      const event = await server.events.record(run.id, 'platform.progress', {
        runId: run.id,
        platform: 'redfox',
        eventsFound: index,
        elapsedMs: index,
        platformsDone: 0,
        platformsTotal: 1,
        padding,
      } as never);
      await waitFor(() => normal.events.some((received) => Number(received.id) === event.seq), { timeoutMs: 2_000 });
      latencies.push(Date.now() - published);
    }
    await waitFor(() => slow.isEnded() || server.logs.some((line) => line.msg.startsWith('SSE subscriber too slow')), { timeoutMs: 10_000, what: 'the slow client to be cut' });
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    expect(normal.events.filter((received) => received.event === 'platform.progress')).toHaveLength(150);
    const slowAfter = (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_sse_disconnects_total', { stream: 'run', reason: 'slow' });
    expect(slowAfter - slowBefore).toBe(1);
    expect(server.bus.watcherCount(run.id)).toBe(1); // only the normal client is left
    normal.close();
    slow.close();
    await server.runs.finish(run.id, 'failed', 'interrupted', { actor: 'test' });
    console.log(`normal client latency while a slow one was cut: max ${Math.max(...latencies)} ms over 150 events`);
  }, 60_000);
});

export type { SseClient };
