import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** SSE stream limits per client address and in total, and the wrong-token limit: 429 JSON with Retry-After, counted by reason. */
const TOKEN = 'a-long-operator-token-for-tests';
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SSE_MAX_STREAMS_PER_CLIENT: '3', SSE_MAX_STREAMS: '5', OPERATOR_TOKEN: TOKEN });
});
afterAll(async () => server?.close());

/** A GET from a chosen loopback source address (127.0.0.x are all this host): the status, headers and body when it is not a stream. */
function get(path: string, localAddress: string): Promise<{ status: number; retryAfter?: string; body: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${server.url}${path}`, { localAddress, agent: false, headers: { accept: 'text/event-stream' } }, (response) => {
      const close = () => request.destroy();
      if (response.statusCode === 200) return resolve({ status: 200, body: '', close });
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string | undefined, body, close }));
    });
    request.on('error', reject);
  });
}

const limited = async (reason: string) => (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_http_limited_total', { reason });
const subscribers = async () => {
  const snapshot = await MetricsSnapshot.scrape(`${server.url}/metrics`);
  return snapshot.value('oddswatch_sse_subscribers', { stream: 'global' }) + snapshot.value('oddswatch_sse_subscribers', { stream: 'run' });
};

describe('SSE stream limits', () => {
  it('refuses a client beyond its own limit and everyone beyond the total, with 429 JSON and Retry-After; a closed stream frees its slot', async () => {
    const first = await Promise.all([1, 2, 3].map(() => get('/api/events', '127.0.0.1')));
    expect(first.map((answer) => answer.status)).toEqual([200, 200, 200]);
    const refused = await get('/api/events', '127.0.0.1');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toMatch(/^[1-9][0-9]*$/);
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'too_many_streams', message: 'too many open streams from this address' } });
    expect(await limited('sse_client')).toBe(1);

    // Another address still gets streams, up to the total of 5.
    const other = await Promise.all([1, 2].map(() => get('/api/events', '127.0.0.2')));
    expect(other.map((answer) => answer.status)).toEqual([200, 200]);
    const full = await get('/api/events', '127.0.0.3');
    expect(full.status).toBe(429);
    expect(JSON.parse(full.body).error.code).toBe('too_many_streams');
    expect(await limited('sse_total')).toBe(1);

    // Closing streams gives their slots back.
    first[0]!.close();
    other[0]!.close();
    await waitFor(async () => (await subscribers()) === 3, { what: 'two streams to close' });
    const again = await get('/api/events', '127.0.0.1');
    expect(again.status).toBe(200);
    for (const answer of [...first, ...other, again]) answer.close();
    await waitFor(async () => (await subscribers()) === 0, { what: 'every stream to close' });
    const clients: SseClient[] = await Promise.all([1, 2, 3].map(() => connectSse(`${server.url}/api/events`)));
    expect(clients.map((client) => client.status)).toEqual([200, 200, 200]);
    for (const client of clients) client.close();
  });

  it('are each server\'s own: streams held on one server of this process do not count on another', async () => {
    await waitFor(async () => (await subscribers()) === 0, { what: 'earlier streams to close' });
    const second = await startTestServer({ SSE_MAX_STREAMS_PER_CLIENT: '3', SSE_MAX_STREAMS: '5' }, server.db);
    try {
      const held = await Promise.all([1, 2, 3].map(() => get('/api/events', '127.0.0.1')));
      expect(held.map((answer) => answer.status)).toEqual([200, 200, 200]);
      expect((await get('/api/events', '127.0.0.1')).status).toBe(429);
      const elsewhere: SseClient[] = await Promise.all([1, 2, 3].map(() => connectSse(`${second.url}/api/events`)));
      expect(elsewhere.map((client) => client.status)).toEqual([200, 200, 200]);
      for (const client of elsewhere) client.close();
      for (const answer of held) answer.close();
      await waitFor(async () => (await subscribers()) === 0, { what: 'every stream to close' });
    } finally {
      await second.close();
    }
  });
});

describe('wrong operator tokens', () => {
  const send = (localAddress: string, { method = 'POST', path = '/api/scheduler/pause', token, headers = {} }: { method?: string; path?: string; token?: string; headers?: Record<string, string> } = {}) =>
    new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
      const request = http.request(
        `${server.url}${path}`,
        { method, localAddress, agent: false, headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string | undefined, body }));
        },
      );
      request.on('error', reject);
      request.end();
    });

  it('after 20 refused tokens in a minute the client gets 429 with Retry-After for token guesses only: the right token and reads still pass', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 25; attempt += 1) statuses.push((await send('127.0.0.4', { token: 'wrong-token-guess' })).status);
    expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
    const guess = await send('127.0.0.4', { token: 'another-wrong-guess' });
    expect(guess.status).toBe(429);
    expect(Number(guess.retryAfter)).toBeGreaterThan(0);
    expect(Number(guess.retryAfter)).toBeLessThanOrEqual(60);
    expect(JSON.parse(guess.body).error.code).toBe('too_many_failures');
    // A mutating request without any token, and a read presenting a wrong one, are guesses too.
    expect((await send('127.0.0.4')).status).toBe(429);
    expect((await send('127.0.0.4', { method: 'GET', path: '/api/scheduler', token: 'wrong-token-guess' })).status).toBe(429);
    expect(await limited('unauthorized')).toBe(8);

    // Someone else on the same address (behind one proxy, say) with the right token, or only reading, is not locked out.
    expect((await send('127.0.0.4', { token: TOKEN })).status).toBe(200);
    expect((await send('127.0.0.4', { method: 'GET', path: '/api/scheduler' })).status).toBe(200);
    expect((await send('127.0.0.4', { method: 'GET', path: '/api/scheduler', token: TOKEN })).status).toBe(200);
    expect((await send('127.0.0.4', { path: '/api/scheduler/resume', token: TOKEN })).status).toBe(200);
    expect(await limited('unauthorized')).toBe(8);
    // Other addresses are unaffected.
    expect((await send('127.0.0.5', { token: 'wrong-token-guess' })).status).toBe(401);
  });

  it('ignores X-Forwarded-For from a client that is not a trusted proxy (TRUSTED_PROXIES unset)', async () => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await send('127.0.0.6', { token: 'wrong', headers: { 'x-forwarded-for': `198.51.100.${attempt}` } })).status).toBe(401);
    }
    expect((await send('127.0.0.6', { token: 'wrong', headers: { 'x-forwarded-for': '198.51.100.77' } })).status).toBe(429);
  });
});
