import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * Credentials go only to the origin they were configured for. The bookmaker's server answers with
 * redirects of every kind: within its origin, to a foreign host, to a host the platform trusts, in a loop,
 * back home after a foreign hop, and from https down to http. The foreign host records every header it
 * is sent; none may carry the API key, the Authorization header or the userinfo's credentials.
 */
const API_KEY = 'key-s3cr3t-6c1f0a';
const BEARER = 'bearer-s3cr3t-93be1';
const USER = 'feeduser';
const PASSWORD = 'pw-s3cr3t-77d0e';
const SECRETS = [API_KEY, BEARER, PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-redirects-'));
const page = (name: string) => JSON.stringify({ page: 1, totalPages: 1, events: [{ id: `${name}-1`, name: `${name} v Rovers`, markets: [{ name: 'result', selections: [{ name: 'home', price: 2.1 }] }] }] });
const listen = (server: http.Server | https.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

let origin: http.Server;
let foreign: http.Server;
let secure: https.Server;
let originUrl: string;
let foreignUrl: string;
let secureUrl: string;
/** Every header set the foreign host and the origin's final paths received. */
const foreignSeen: http.IncomingHttpHeaders[] = [];
const originPaths: string[] = [];
let server: TestServer;

const authorised = (request: http.IncomingMessage) =>
  request.headers['x-api-key'] === API_KEY &&
  (request.headers.authorization === `Bearer ${BEARER}` || request.headers.authorization === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);

beforeAll(async () => {
  process.env.ODDSWATCH_TEST_API_KEY = API_KEY;
  process.env.ODDSWATCH_TEST_BEARER = `Bearer ${BEARER}`;
  foreign = http.createServer((request, response) => {
    foreignSeen.push(request.headers);
    if (request.url?.startsWith('/bounce')) return void response.writeHead(302, { location: `${originUrl}/home/events?page=1` }).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(page('foreign'));
  });
  // A different host name as well as a different port: another origin however it is compared.
  foreignUrl = `http://localhost:${await listen(foreign)}`;
  origin = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://origin.invalid');
    originPaths.push(url.pathname);
    const [, route] = url.pathname.split('/');
    const redirect = (location: string) => response.writeHead(302, { location }).end();
    if (route === 'same') return redirect('/home/events?page=1');
    if (route === 'cross' || route === 'trusted') return redirect(`${foreignUrl}/feed/events?page=1`);
    if (route === 'loop') return redirect(url.pathname);
    if (route === 'back') return redirect(`${foreignUrl}/bounce`);
    if (route === 'home' && authorised(request)) return void response.writeHead(200, { 'content-type': 'application/json' }).end(page('home'));
    response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"credentials required"}');
  });
  originUrl = `http://127.0.0.1:${await listen(origin)}`;

  // A self-signed certificate for 127.0.0.1; this test process accepts it (the redirect, not TLS, is under test).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  secure = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_request, response) => {
    response.writeHead(302, { location: `${originUrl}/home/events?page=1` }).end();
  });
  secureUrl = `https://127.0.0.1:${await listen(secure)}`;

  const withKey = { 'X-Api-Key': { env: 'ODDSWATCH_TEST_API_KEY' } };
  const userinfo = (base: string, route: string) => base.replace('://', `://${USER}:${PASSWORD}@`) + `/${route}`;
  const platforms = [
    { name: 'same', baseUrl: userinfo(originUrl, 'same'), headers: withKey },
    { name: 'cross', baseUrl: userinfo(originUrl, 'cross'), headers: withKey },
    { name: 'cross-bearer', baseUrl: `${originUrl}/cross`, headers: { ...withKey, Authorization: { env: 'ODDSWATCH_TEST_BEARER' } } },
    { name: 'trusted', baseUrl: userinfo(originUrl, 'trusted'), headers: withKey, redirectOrigins: [foreignUrl] },
    { name: 'loop', baseUrl: userinfo(originUrl, 'loop'), headers: withKey },
    { name: 'back', baseUrl: userinfo(originUrl, 'back'), headers: withKey },
    { name: 'downgrade', baseUrl: userinfo(secureUrl, 'down'), headers: withKey },
  ];
  writeFileSync(path.join(dir, 'platforms.json'), JSON.stringify(platforms));
  server = await startTestServer({ PLATFORMS_FILE: path.join(dir, 'platforms.json') });
});
afterAll(async () => {
  await server?.close();
  for (const closing of [origin, foreign, secure]) closing?.closeAllConnections();
  await Promise.all([origin, foreign, secure].map((closing) => new Promise((resolve) => (closing ? closing.close(resolve) : resolve(undefined)))));
  rmSync(dir, { recursive: true, force: true });
});

async function runAlone(platform: string): Promise<RunDetail['steps'][number]> {
  const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: [platform] } })).json()) as RunDetail;
  const run = await server.waitForRun(created.id, ['completed', 'partial', 'failed']);
  return run.steps[0]!;
}

const foreignCredentials = () => foreignSeen.filter((headers) => SECRETS.some((secret) => JSON.stringify(headers).includes(secret)) || headers.authorization || headers['x-api-key']);
const redirects = async (platform: string, outcome: string) => (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_platform_redirects_total', { platform, outcome });

describe('feed redirects', () => {
  it('keep the credentials within the origin', async () => {
    expect(await runAlone('same')).toMatchObject({ status: 'completed', eventsFound: 1 });
    expect(await redirects('same', 'followed')).toBe(1);
  });

  it('to another origin go without any configured header or userinfo (custom header, Basic and Bearer)', async () => {
    foreignSeen.length = 0;
    expect(await runAlone('cross')).toMatchObject({ status: 'completed' });
    expect(await runAlone('cross-bearer')).toMatchObject({ status: 'completed' });
    expect(foreignSeen).toHaveLength(2);
    expect(foreignCredentials()).toEqual([]);
    expect(await redirects('cross', 'stripped')).toBe(1);
    expect(await redirects('cross-bearer', 'stripped')).toBe(1);
  });

  it('to an origin the platform trusts (redirectOrigins) keep the credentials', async () => {
    foreignSeen.length = 0;
    expect(await runAlone('trusted')).toMatchObject({ status: 'completed' });
    expect(foreignSeen[0]?.['x-api-key']).toBe(API_KEY);
    expect(await redirects('trusted', 'followed')).toBe(1);
  });

  it('do not get the credentials back once a hop left the origin', async () => {
    foreignSeen.length = 0;
    const step = await runAlone('back');
    expect(step.status).toBe('failed');
    expect(step.error).toBe('platform answered HTTP 401 on page 1'); // home refused the request that came back without credentials
    expect(foreignCredentials()).toEqual([]);
  });

  it('in a loop fail the step after a bounded number of hops', async () => {
    const step = await runAlone('loop');
    expect(step).toMatchObject({ status: 'failed', error: 'redirect refused: more than 5 redirects' });
    expect(await redirects('loop', 'followed')).toBe(5);
    expect(await redirects('loop', 'refused')).toBe(1);
  });

  it('from https down to plain http are refused before any request goes out over http', async () => {
    originPaths.length = 0;
    const step = await runAlone('downgrade');
    expect(step).toMatchObject({ status: 'failed', error: 'redirect refused: from https to plain http' });
    expect(originPaths).toEqual([]);
    expect(await redirects('downgrade', 'refused')).toBe(1);
  });

  it('never show a credential in a step, a log line or the platforms API', async () => {
    const bodies = [await (await server.api('/api/platforms')).text(), JSON.stringify(server.logs)];
    for (const id of [1, 2, 3, 4, 5, 6, 7]) bodies.push(await (await server.api(`/api/runs/${id}`)).text());
    for (const secret of SECRETS) for (const body of bodies) expect(body).not.toContain(secret);
  });
});
