import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { connectSse } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Slow clients (slowloris): a request's headers must arrive within HTTP_HEADERS_TIMEOUT_MS and the whole
 * request within HTTP_REQUEST_TIMEOUT_MS; Node checks every second, answers 408 and closes. Responses are
 * not bounded by either: an SSE stream outlives both. Shrunk here so that the test takes seconds.
 */
const HEADERS_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 3_000;
/** Node's connection check runs every second (server.ts), plus scheduling slack on a busy machine. */
const CHECK_SLACK_MS = 1_000 + 1_500;
let server: TestServer;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = await startTestServer({ HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), SSE_HEARTBEAT_MS: '500' });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await server?.close();
});

/** Connects, writes `head` at once, then one byte of `trickle` a second; resolves when the server closes the socket. */
function trickle(head: string, slow: string): Promise<{ answer: string; closedAfterMs: number; bytesTrickled: number }> {
  const socket = connect(server.port, '127.0.0.1');
  sockets.add(socket);
  const started = performance.now();
  let answer = '';
  let sent = 0;
  socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => undefined);
  socket.write(head);
  const timer = setInterval(() => {
    if (sent < slow.length && !socket.destroyed) socket.write(slow[sent++]!);
  }, 1_000);
  return new Promise((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: performance.now() - started, bytesTrickled: sent });
    }),
  );
}

describe('slow clients', () => {
  it('cuts a client trickling its headers one byte a second at the headers timeout, with 408', async () => {
    const cut = await trickle('GET /api/meta HTTP/1.1\r\n', `Host: 127.0.0.1\r\nX-Slow: ${'a'.repeat(120)}\r\n\r\n`);
    console.log(`headers trickled at 1 byte/s: cut after ${Math.round(cut.closedAfterMs)} ms (${cut.bytesTrickled} bytes; HTTP_HEADERS_TIMEOUT_MS=${HEADERS_TIMEOUT_MS})`);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(cut.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(cut.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_SLACK_MS);
  });

  it('cuts a client trickling its body one byte a second at the request timeout, with 408', async () => {
    const cut = await trickle('POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n', `{"platforms":${' '.repeat(180)}[]}`);
    console.log(`body trickled at 1 byte/s: cut after ${Math.round(cut.closedAfterMs)} ms (HTTP_REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS})`);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(cut.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(cut.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS);
  });

  it('keeps an SSE stream open past the request timeout: it bounds receiving the request, not the response', async () => {
    const stream = await connectSse(`${server.url}/api/events`);
    expect(stream.status).toBe(200);
    const opened = performance.now();
    await waitFor(() => performance.now() - opened > REQUEST_TIMEOUT_MS + CHECK_SLACK_MS, { timeoutMs: REQUEST_TIMEOUT_MS + CHECK_SLACK_MS + 1_000, intervalMs: 100, what: 'the request timeout and a check to pass' });
    const heartbeats = stream.comments.length;
    await waitFor(() => stream.comments.length > heartbeats, { what: 'a heartbeat after the request timeout' });
    expect(stream.isEnded()).toBe(false);
    stream.close();
  });

  it('a keep-alive client sending a second request at once is not cut', async () => {
    const socket = connect(server.port, '127.0.0.1');
    sockets.add(socket);
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor(() => (answer.match(/HTTP\/1\.1 200/g) ?? []).length === 2, { what: 'two answers on one connection' });
    socket.destroy();
  });

  it('defaults: 10 s for the headers, 30 s for the whole request; the headers timeout may not exceed the request timeout', () => {
    expect(loadConfig({})).toMatchObject({ httpHeadersTimeoutMs: 10_000, httpRequestTimeoutMs: 30_000 });
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS \(30000\)/);
  });
});
