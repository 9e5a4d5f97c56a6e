import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { clientAddress, TrustedProxies } from '../../src/http/clientAddress.js';
import { startNginx, type NginxFront } from '../helpers/nginxFront.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';
import { MetricsSnapshot } from '../helpers/metrics.js';

/**
 * The per-client limits behind the shipped nginx (deploy/nginx/oddswatch.conf, Debian's nginx): with nginx's
 * address in TRUSTED_PROXIES each user is the address nginx forwards for, so one user's wrong tokens or
 * streams do not refuse another. Users are told apart by their source address (127.0.0.x are all this host).
 */
const TOKEN = 'a-long-operator-token-for-proxy-tests';
const STREAMS_PER_CLIENT = 3;
let server: TestServer;
let front: NginxFront | undefined;

beforeAll(async () => {
  server = await startTestServer({ OPERATOR_TOKEN: TOKEN, TRUSTED_PROXIES: '127.0.0.1', SSE_MAX_STREAMS_PER_CLIENT: String(STREAMS_PER_CLIENT) });
  front = await startNginx([`127.0.0.1:${server.port}`]);
});
const opened = new Set<http.ClientRequest>();
afterAll(async () => {
  for (const request of opened) request.destroy(); // a stream left open by a failed test would hold nginx's graceful stop
  await front?.stop();
  await server?.close();
});

interface Answer {
  status: number;
  body: string;
  close(): void;
}

/** A request from `localAddress` to `base`; an SSE answer (200) is kept open until `close()`. */
function send(base: string, localAddress: string, { method = 'GET', path = '/api/scheduler', token, headers = {} }: { method?: string; path?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${base}${path}`,
      { method, localAddress, agent: false, headers: { accept: path === '/api/events' ? 'text/event-stream' : 'application/json', ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } },
      (response) => {
        const close = () => request.destroy();
        if (String(response.headers['content-type']).startsWith('text/event-stream')) return resolve({ status: response.statusCode ?? 0, body: '', close });
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, close }));
      },
    );
    opened.add(request.on('close', () => opened.delete(request)));
    request.on('error', reject);
    request.end();
  });
}

const viaNginx = (localAddress: string, options?: Parameters<typeof send>[2]) => send(front!.url, localAddress, options);
const subscribers = async () => (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_sse_subscribers', { stream: 'global' });

describe('clients behind a trusted proxy', () => {
  it('the shipped nginx config forwards the client address the service reads', () => {
    expect(readFileSync('deploy/nginx/oddswatch.conf', 'utf8')).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  });

  it("one user's 20 wrong tokens limit that user only, who cannot escape by sending an X-Forwarded-For of its own", async () => {
    for (let attempt = 0; attempt < 20; attempt += 1) expect((await viaNginx('127.0.0.2', { method: 'POST', path: '/api/scheduler/pause', token: 'wrong-guess' })).status).toBe(401);
    const limited = await viaNginx('127.0.0.2', { method: 'POST', path: '/api/scheduler/pause', token: 'wrong-guess' });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body).error.code).toBe('too_many_failures');
    expect((await viaNginx('127.0.0.2', { method: 'POST', path: '/api/scheduler/pause', token: 'wrong-guess', headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(429);

    // Another user behind the same nginx: its wrong token is a 401 (not yet limited), its right token works.
    expect((await viaNginx('127.0.0.3', { method: 'POST', path: '/api/scheduler/pause', token: 'wrong-guess' })).status).toBe(401);
    expect((await viaNginx('127.0.0.3', { method: 'POST', path: '/api/scheduler/pause', token: TOKEN })).status).toBe(200);
    expect((await viaNginx('127.0.0.3', { method: 'POST', path: '/api/scheduler/resume', token: TOKEN })).status).toBe(200);
  });

  it("one user's streams up to SSE_MAX_STREAMS_PER_CLIENT do not refuse another user's stream", async () => {
    const first = await Promise.all(Array.from({ length: STREAMS_PER_CLIENT }, () => viaNginx('127.0.0.4', { path: '/api/events' })));
    expect(first.map((answer) => answer.status)).toEqual(first.map(() => 200));
    const beyond = await viaNginx('127.0.0.4', { path: '/api/events' });
    expect(beyond.status).toBe(429);
    expect(JSON.parse(beyond.body).error.code).toBe('too_many_streams');
    const other = await viaNginx('127.0.0.5', { path: '/api/events' });
    expect(other.status).toBe(200);
    for (const answer of [...first, other]) answer.close();
    await waitFor(async () => (await subscribers()) === 0, { what: 'every stream to close' });
  });

  it('ignores X-Forwarded-For from a direct client that is not a trusted proxy', async () => {
    const direct = (forwardedFor: string, options: Parameters<typeof send>[2] = {}) => send(server.url, '127.0.0.6', { ...options, headers: { 'x-forwarded-for': forwardedFor } });
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await direct(`198.51.100.${attempt}`, { method: 'POST', path: '/api/scheduler/pause', token: 'wrong-guess' })).status).toBe(401);
    }
    expect((await direct('198.51.100.99', { method: 'POST', path: '/api/scheduler/pause', token: 'wrong-guess' })).status).toBe(429);

    const streams = await Promise.all(Array.from({ length: STREAMS_PER_CLIENT }, (_, i) => direct(`198.51.100.${i}`, { path: '/api/events' })));
    expect(streams.map((answer) => answer.status)).toEqual(streams.map(() => 200));
    expect((await direct('198.51.100.99', { path: '/api/events' })).status).toBe(429);
    for (const answer of streams) answer.close();
    await waitFor(async () => (await subscribers()) === 0, { what: 'every stream to close' });
  });
});

describe('client address (X-Forwarded-For behind trusted proxies)', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

  it('takes the right-most address that is not a trusted proxy, only when the peer is one', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.1.2.3', 'spoofed, 198.51.100.7, 10.0.0.9', trusted)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('fd00::1', '2001:DB8::5', trusted)).toBe('2001:db8::5');
    expect(clientAddress('10.1.2.3', '10.0.0.8, 10.0.0.9', trusted)).toBe('10.0.0.8');
    expect(clientAddress('10.1.2.3', undefined, trusted)).toBe('10.1.2.3');
    expect(clientAddress('198.51.100.7', '10.0.0.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.1.2.3', '198.51.100.7', new TrustedProxies([]))).toBe('10.1.2.3');
  });

  it('validates TRUSTED_PROXIES, naming the variable', () => {
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 172.18.0.5,fd00::/8' }).trustedProxies).toEqual(['10.0.0.0/8', '172.18.0.5', 'fd00::/8']);
    expect(loadConfig({}).trustedProxies).toEqual([]);
    for (const bad of ['nginx', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.1:80']) {
      expect(() => loadConfig({ TRUSTED_PROXIES: bad }), bad).toThrow(/^Invalid configuration: TRUSTED_PROXIES: /);
    }
  });
});
