import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SSE_HEARTBEAT_MS: '100', PLATFORM_TIMEOUT_MS: '120000', SSE_MAX_STREAMS_PER_CLIENT: '100000' });
});
afterAll(async () => server?.close());

/** Opens a raw connection, sends the request and closes at once: before the stream's first write, often before its handler. */
function connectAndClose(port: number, path: string, closeAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      if (closeAfterMs === 0) socket.destroy();
      else setTimeout(() => socket.destroy(), closeAfterMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

async function storm(paths: string[], cycles: number, batch = 50): Promise<void> {
  for (let done = 0; done < cycles; done += batch) {
    await Promise.all(Array.from({ length: batch }, (_, index) => connectAndClose(server.port, paths[index % paths.length]!, index % 3)));
  }
}

async function settledHeap(): Promise<number> {
  for (let round = 0; round < 3; round += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

describe('SSE storms', () => {
  it('1,000 immediate connect/close cycles on each stream leave no subscription and no heap behind', async () => {
    server.platforms.simulated!.set('redfox', { hang: true });
    const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
    await server.waitForRun(run.id, ['running']);
    const paths = ['/api/events', `/api/runs/${run.id}/events`, '/api/events?lastEventId=1'];
    // Observe (not replace) the bus: how many subscriptions the storm really opened.
    const bus = server.bus;
    const subscribe = bus.subscribe.bind(bus);
    let opened = 0;
    bus.subscribe = (scope, listener) => {
      opened += 1;
      return subscribe(scope, listener);
    };
    const before = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    const disconnects = (snapshot: MetricsSnapshot) =>
      ['run', 'global'].reduce((sum, stream) => sum + ['client_closed', 'slow', 'server_shutdown', 'run_finished'].reduce((total, reason) => total + snapshot.value('oddswatch_sse_disconnects_total', { stream, reason }), 0), 0);
    await storm(paths, 600); // warm every code path (JIT, pools, caches) before the baseline
    await waitFor(() => server.bus.subscriberCount('run') + server.bus.subscriberCount('global') === 0, { what: 'the warm-up to end' });
    server.logs.splice(0);
    const baselineHeap = await settledHeap();

    await storm(paths, 3_000);
    // Requests still queued behind the storm subscribe late and end at once: wait until all is quiet.
    const after = await waitFor(
      async () => {
        const snapshot = await MetricsSnapshot.scrape(`${server.url}/metrics`);
        const open = snapshot.value('oddswatch_sse_subscribers', { stream: 'run' }) + snapshot.value('oddswatch_sse_subscribers', { stream: 'global' });
        const quiet = open === 0 && bus.subscriberCount('run') + bus.subscriberCount('global') === 0;
        return quiet && disconnects(snapshot) - disconnects(before) === opened ? snapshot : undefined;
      },
      { timeoutMs: 15_000, what: 'every subscription to end, counted once' },
    );
    expect(after.value('oddswatch_sse_subscribers', { stream: 'run' })).toBe(0);
    expect(after.value('oddswatch_sse_subscribers', { stream: 'global' })).toBe(0);
    expect(server.bus.watcherCount(run.id)).toBe(0);
    // Every subscription that opened ended exactly once (waited for above), and as client_closed.
    const closed = (stream: string) => after.value('oddswatch_sse_disconnects_total', { stream, reason: 'client_closed' }) - before.value('oddswatch_sse_disconnects_total', { stream, reason: 'client_closed' });
    expect(closed('run') + closed('global')).toBe(opened);
    expect(opened).toBeGreaterThan(0);
    bus.subscribe = subscribe;
    expect(server.logs.filter((line) => line.level === 'error')).toEqual([]);
    server.logs.splice(0); // the test's own log capture is not the service's heap

    // A leaked heartbeat timer holds its stream, request and socket for ever.
    const grownBytes = (await settledHeap()) - baselineHeap;
    console.log(`SSE storm of 3,000 immediate closes: heap ${(grownBytes / 1024).toFixed(0)} KiB from its baseline after GC`);
    // Before the fix one early close kept ~5 KiB for ever (about 15 MiB for 3,000); warm-up noise stays under 3 MiB.
    expect(grownBytes).toBeLessThan(3 * 1024 * 1024);
    await server.runs.finish(run.id, 'failed', 'interrupted', { actor: 'test' });
  }, 120_000);

  it('HEAD /api/events answers the stream headers and opens no subscription', async () => {
    const response = await server.api('/api/events', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(server.bus.subscriberCount('global')).toBe(0);
    // A real stream still opens afterwards, and counts.
    const client = await connectSse(`${server.url}/api/events`);
    await waitFor(() => server.bus.subscriberCount('global') === 1, { what: 'the stream to subscribe' });
    client.close();
    await waitFor(() => server.bus.subscriberCount('global') === 0, { what: 'the stream to end' });
  });
});
