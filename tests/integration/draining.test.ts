import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * Graceful shutdown drains: from its first moment /readyz says so and new SSE streams are refused with 503
 * and Retry-After, on connections already open too, so a balancer and the browser move to a live replica
 * instead of subscribing to one about to go. Each request below is begun (its first header line sent) before
 * the shutdown, so its connection is busy and survives the listener closing, and finished after it began.
 */
let server: TestServer;

/** A request whose first line went out now; `finish()` sends the rest and reads the whole answer. */
async function begin(path: string): Promise<{ finish(): Promise<{ status: number; headers: string; body: string }> }> {
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  return {
    finish: () =>
      new Promise((resolve) => {
        let raw = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (raw += chunk));
        socket.on('close', () => {
          const [head = '', body = ''] = raw.split('\r\n\r\n');
          resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n$/g, '') });
        });
        socket.write('Connection: close\r\n\r\n');
      }),
  };
}

beforeAll(async () => {
  // A feed that hangs keeps a run in flight, so the shutdown waits SHUTDOWN_GRACE_MS.
  server = await startTestServer({ SHUTDOWN_GRACE_MS: '3000', PLATFORM_TIMEOUT_MS: '20000' });
  server.platforms.simulated!.set('redfox', { hang: true });
});
afterAll(async () => server?.close());

describe('graceful shutdown', () => {
  it('says not ready and refuses new streams with 503 and Retry-After from its first moment', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const created = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
    await server.waitForRun(created.id, ['running']);
    const ready = await begin('/readyz');
    const streams = [await begin('/api/events'), await begin(`/api/runs/${created.id}/events`)];

    const stopping = server.stop();
    const readiness = await ready.finish();
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body)).toMatchObject({ status: 'not_ready', reason: 'draining' });
    for (const stream of streams) {
      const refused = await stream.finish();
      expect(refused.status).toBe(503);
      expect(refused.headers).toContain('retry-after: 1');
      expect(JSON.parse(refused.body).error.code).toBe('shutting_down');
    }
    await stopping;
  });
});
