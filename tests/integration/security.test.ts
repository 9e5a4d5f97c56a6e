import { readFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { tokenMatches } from '../../src/http/auth.js';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ROOT, SERVICE_ARGS } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { readYaml, repoPath } from '../ops/repo.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import type { RunPage, SchedulerState } from '../../src/shared/contract.js';

const TOKEN = 'sekrit-operator-token-4f9a1c';
const NAMED_HOST = 'odds.example.test';
let open: TestServer; // no token
let closed: TestServer; // OPERATOR_TOKEN set
let named: TestServer; // no token, ALLOWED_HOSTS set

beforeAll(async () => {
  [open, closed, named] = await Promise.all([startTestServer(), startTestServer({ OPERATOR_TOKEN: TOKEN }), startTestServer({ ALLOWED_HOSTS: `${NAMED_HOST}, other.example.test:8443` })]);
});
afterAll(async () => Promise.all([open?.close(), closed?.close(), named?.close()]));

/** Sends raw bytes and resolves with everything the server answered before closing (or after 3 s). */
function rawRequest(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('cross-site requests', () => {
  it.each([
    ['Origin of another site', { origin: 'http://evil.example' }],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
    ['Origin null', { origin: 'null' }],
  ])('refuses a mutating request with %s, with or without a token', async (_what, headers) => {
    for (const [server, auth] of [[open, {}], [closed, { authorization: `Bearer ${TOKEN}` }]] as const) {
      const response = await server.api('/api/scheduler/pause', { method: 'POST', headers: { ...headers, ...auth } });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'cross_site_request' } });
    }
    expect((await (await open.api('/api/scheduler')).json()) as { jobs: Record<string, { paused: boolean }> }).not.toMatchObject({
      jobs: { scrape_all_platforms: { paused: true } },
    });
  });

  it('lets the same-origin dashboard and clients without Origin (curl) through, and reads from anywhere', async () => {
    const host = new URL(open.url).host;
    const sameOrigin = await open.api('/api/scheduler/pause', { method: 'POST', headers: { origin: open.url, 'sec-fetch-site': 'same-origin' } });
    expect(sameOrigin.status).toBe(200);
    expect((await open.api('/api/scheduler/resume', { method: 'POST' })).status).toBe(200);
    expect((await open.api('/api/scheduler', { headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

/**
 * A request over loopback with the Host a browser sends: a page whose name was rebound to 127.0.0.1 sends
 * its own name in Host and Origin, and the browser calls it same-origin.
 */
function requestAs(server: TestServer, host: string, path: string, { method = 'GET', json }: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: string }> {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const headers: Record<string, string> = { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: server.port, path, method, headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('DNS rebinding: only the names the service is reached by', () => {
  const schedulerState = async (server: TestServer) => (await (await server.api('/api/scheduler')).json()) as SchedulerState;
  const scrapeJob = async (server: TestServer) => (await schedulerState(server)).jobs.find((job) => job.id === 'scrape_all_platforms')!;
  const runCount = async (server: TestServer) => ((await (await server.api('/api/runs')).json()) as RunPage).items.length;
  const evil = () => `evil.example:${open.port}`;
  const expectRefused = (answer: { status: number; body: string }) => {
    expect(answer.status).toBe(421);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'unknown_host', message: expect.stringContaining('ALLOWED_HOSTS') } });
  };

  it('refuses POST /api/runs from a rebound name: no run is created', async () => {
    const before = await runCount(open);
    expectRefused(await requestAs(open, evil(), '/api/runs', { method: 'POST', json: {} }));
    expect(await runCount(open)).toBe(before);
  });

  it('refuses pause, resume and the interval from a rebound name: the schedule is unchanged', async () => {
    expectRefused(await requestAs(open, evil(), '/api/scheduler/pause', { method: 'POST' }));
    expect((await schedulerState(open)).paused).toBe(false);

    expect((await open.api('/api/scheduler/pause', { method: 'POST' })).status).toBe(200);
    expectRefused(await requestAs(open, evil(), '/api/scheduler/resume', { method: 'POST' }));
    expect((await schedulerState(open)).paused).toBe(true);
    expect((await open.api('/api/scheduler/resume', { method: 'POST' })).status).toBe(200);

    const interval = (await scrapeJob(open)).intervalSeconds;
    expectRefused(await requestAs(open, evil(), '/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: interval + 60 } }));
    expect((await scrapeJob(open)).intervalSeconds).toBe(interval);
  });

  it('refuses reads and the dashboard from a rebound name, and counts each refusal; the probes still answer', async () => {
    const refusedBefore = (await MetricsSnapshot.scrape(`${open.url}/metrics`)).value('oddswatch_http_unknown_host_total');
    for (const path of ['/api/odds', '/api/runs', '/api/meta', '/', '/assets/index.js', '/metrics']) expectRefused(await requestAs(open, evil(), path));
    // A bare rebound name (port 80 in the browser's URL) is no better.
    expectRefused(await requestAs(open, 'evil.example', '/api/odds'));
    expect((await MetricsSnapshot.scrape(`${open.url}/metrics`)).value('oddswatch_http_unknown_host_total')).toBe(refusedBefore + 7);
    for (const path of ['/healthz', '/readyz']) expect((await requestAs(open, evil(), path)).status, path).toBe(200);
  });

  it('answers loopback names and any IP literal, on any port', async () => {
    const port = open.port;
    for (const host of [`localhost:${port}`, 'localhost', `LocalHost:${port}`, `dashboard.localhost:${port}`, `127.0.0.1:${port}`, `127.1.2.3:${port}`, `[::1]:${port}`, '[::1]', '192.0.2.10:3000', '[2001:db8::1]:80']) {
      const odds = await requestAs(open, host, '/api/odds');
      expect(odds.status, host).toBe(200);
      expect(JSON.parse(odds.body), host).toHaveProperty('items');
    }
    const paused = await requestAs(open, `localhost:${port}`, '/api/scheduler/pause', { method: 'POST' });
    expect(paused.status).toBe(200);
    expect((await requestAs(open, `[::1]:${port}`, '/api/scheduler/resume', { method: 'POST' })).status).toBe(200);
    // Names that only look like loopback or an address are names.
    for (const host of ['localhost.evil.example', '127.0.0.1.nip.io', 'evil-localhost', '2130706433']) expectRefused(await requestAs(open, `${host}:${port}`, '/api/odds'));
  });

  it('answers the names in ALLOWED_HOSTS (any port unless the entry names one), and only those', async () => {
    const port = named.port;
    for (const host of [`${NAMED_HOST}:${port}`, NAMED_HOST.toUpperCase(), 'other.example.test:8443', `localhost:${port}`]) {
      expect((await requestAs(named, host, '/api/scheduler/pause', { method: 'POST' })).status, host).toBe(200);
      expect((await requestAs(named, host, '/api/scheduler/resume', { method: 'POST' })).status, host).toBe(200);
    }
    expectRefused(await requestAs(named, `other.example.test:${port}`, '/api/odds'));
    expectRefused(await requestAs(named, `evil.example:${port}`, '/api/odds'));
    expectRefused(await requestAs(named, `sub.${NAMED_HOST}:${port}`, '/api/odds'));
  });

  it('validates ALLOWED_HOSTS, naming the variable', () => {
    expect(loadConfig({ ALLOWED_HOSTS: 'Odds.Example.com, odds.internal:8080,[::1]' }).allowedHosts).toEqual(['odds.example.com', 'odds.internal:8080', '[::1]']);
    expect(loadConfig({}).allowedHosts).toEqual([]);
    for (const bad of ['http://odds.example.com', 'odds.example.com/path', 'odds example', 'odds.example.com:99999', '*']) {
      expect(() => loadConfig({ ALLOWED_HOSTS: bad }), bad).toThrow(/^Invalid configuration: ALLOWED_HOSTS: /);
    }
  });
});

describe('security headers', () => {
  it('puts CSP, nosniff, frame and referrer policies on API, error and dashboard responses', async () => {
    for (const path of ['/api/meta', '/api/nope', '/healthz', '/metrics', '/', '/runs/1', '/api/events', '/api/events?lastEventId=x']) {
      const response = await open.api(path);
      if (path === '/api/events?lastEventId=x') expect(response.status).toBe(400); // a JSON error on a stream path
      if (path === '/api/events') {
        expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        await response.body?.cancel();
      }
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });
});

describe('unknown methods', () => {
  it('answers TRACE and made-up methods with a 405 JSON error', async () => {
    for (const method of ['TRACE', 'PROPFIND']) {
      const answer = await rawRequest(open.url, `${method} /api/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(answer, method).toMatch(/^HTTP\/1\.1 405/);
      expect(answer).toContain('"code":"method_not_allowed"');
    }
    expect(open.logs.some((line) => line.msg === 'request' && line.method === 'TRACE' && line.status === 405)).toBe(true);
  });

  it('answers CONNECT with a 405 JSON error instead of closing the socket', async () => {
    const answer = await rawRequest(open.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 405 Method Not Allowed/);
    expect(answer).toContain('"code":"method_not_allowed"');
  });
});

describe('operator token', () => {
  it('compares hashes in constant time, whatever the presented length', () => {
    const expected = createHash('sha256').update(TOKEN).digest();
    expect(tokenMatches(TOKEN, expected)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, expected)).toBe(false);
    expect(tokenMatches('', expected)).toBe(false);
    expect(tokenMatches('x'.repeat(10_000), expected)).toBe(false);
  });

  it('counts 401s by route pattern, never the raw path, and never logs the token', async () => {
    const wrong = `${TOKEN}-wrong`;
    for (const path of ['/api/runs', '/api/scheduler/jobs/scrape_all_platforms/run', '/api/scheduler/jobs/detect_stale_runs/run']) {
      const response = await closed.api(path, { method: 'POST', headers: { authorization: `Bearer ${wrong}` } });
      expect(response.status).toBe(401);
    }
    expect((await closed.api(`/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(202);
    const metrics = await MetricsSnapshot.scrape(`${closed.url}/metrics`);
    expect(metrics.value('oddswatch_http_unauthorized_total', { route: '/api/runs' })).toBe(1);
    expect(metrics.value('oddswatch_http_unauthorized_total', { route: '/api/scheduler/jobs/:id/run' })).toBe(2);
    expect(metrics.samples('oddswatch_http_unauthorized_total').every((sample) => !/scrape_all|detect_stale/.test(sample.labels.route ?? ''))).toBe(true);
    const logs = JSON.stringify(closed.logs);
    expect(logs).not.toContain(TOKEN);
    expect(logs).toContain('"status":401');
  });
});

describe('closed by default: listen address', () => {
  it('listens on loopback without a token, on every address with one', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ OPERATOR_TOKEN: TOKEN }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '127.0.0.2' }).host).toBe('127.0.0.2');
    expect(loadConfig({ HOST: '::1' }).host).toBe('::1');
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: a non-loopback address needs OPERATOR_TOKEN/);
  });

  it('the built service refuses a non-loopback HOST without a token: exit 78, one line naming HOST and OPERATOR_TOKEN', () => {
    const result = spawnSync(process.execPath, SERVICE_ARGS, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOST: '0.0.0.0' }, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(78);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^oddswatch: Invalid configuration: HOST: a non-loopback address needs OPERATOR_TOKEN .*unset HOST/);
  });
});

describe('compose', () => {
  it('runs every app replica with a token from .env (so it may listen on 0.0.0.0) and a read-only root file system', () => {
    type AppService = { read_only?: boolean; tmpfs?: string[]; environment: Record<string, string> };
    const services = readYaml<{ services: Record<string, AppService> }>('docker-compose.yml').services;
    const replicas = ['app-1', 'app-2'].map((name) => services[name]!);
    for (const app of replicas) {
      expect(app.read_only).toBe(true);
      expect(app.tmpfs).toContain('/tmp');
      expect(app.environment.OPERATOR_TOKEN).toBe('${OPERATOR_TOKEN}');
      expect(app.environment.HOST).toBeUndefined();
    }
    const token = /^OPERATOR_TOKEN=(.*)$/m.exec(readFileSync(repoPath('.env'), 'utf8'))?.[1] ?? '';
    expect(loadConfig({ OPERATOR_TOKEN: token }).host).toBe('0.0.0.0');
  });

  it("answers to the names Prometheus scrapes the replicas by, and trusts the stack's network to forward client addresses", () => {
    type AppService = { environment: Record<string, string> };
    const services = readYaml<{ services: Record<string, AppService> }>('docker-compose.yml').services;
    const scraped = readYaml<{ scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>('prometheus/prometheus.yml')
      .scrape_configs.find((job) => job.job_name === 'oddswatch')!
      .static_configs.flatMap((config) => config.targets);
    for (const name of ['app-1', 'app-2']) {
      // As compose fills it in with ALLOWED_HOSTS unset in .env.
      const environment = Object.fromEntries(Object.entries(services[name]!.environment).map(([key, value]) => [key, value.replace(/\$\{ALLOWED_HOSTS:-\}/, '')]));
      const config = loadConfig({ ALLOWED_HOSTS: environment.ALLOWED_HOSTS, TRUSTED_PROXIES: environment.TRUSTED_PROXIES });
      for (const target of scraped) expect(config.allowedHosts, target).toContain(target.split(':')[0]);
      expect(config.trustedProxies).toContain('172.16.0.0/12');
    }
  });
});
