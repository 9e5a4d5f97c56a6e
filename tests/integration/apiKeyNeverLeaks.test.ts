import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import type { PlatformPreview, RunDetail, StepFailureReason } from '../../src/shared/contract.js';
import { ROOT, spawnService, type ChildService } from '../helpers/childService.js';
import { connectSse } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { closedPort } from '../helpers/closedPort.js';

/**
 * The odds-api key (a query parameter on every request) through the built service as `npm start` runs it,
 * exporting its telemetry: an entry reads it from the environment, and neither it nor a refused key
 * appears in any answer the service gives (API bodies, SSE, /metrics, the dashboard's files), any log line
 * (stdout or OTLP) or any exported span, on success and on every failure. tests/integration/oddsApiKind.test.ts
 * covers the adapter's messages and spans and the in-process service; this is the running process.
 */
const TIMEOUT_MS = 1_500;
const ENTRIES = ['oddsline', 'oddsline-old', 'oddsline-down'];

let sim: SimulatedFeeds;
let key: string;
let oldKey: string;
let downKey: string;
let dir: string;
let db: TestDatabase;
let service: ChildService;
let collector: http.Server;
let collectorUrl: string;
const exported: { path: string; body: string }[] = [];
const runs: RunDetail[] = [];
let preview: { status: number; body: string };


const get = (route: string, init?: RequestInit) => fetch(`${service.url}${route}`, init);

async function run(platforms: string[]): Promise<RunDetail> {
  const response = await get('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms }) });
  expect(response.status).toBe(202);
  const created = (await response.json()) as RunDetail;
  const finished = await waitFor(async () => {
    const current = (await (await get(`/api/runs/${created.id}`)).json()) as RunDetail;
    return current.finishedAt ? current : undefined;
  }, { timeoutMs: 30_000, what: `run ${created.id} to finish` });
  runs.push(finished);
  return finished;
}

const reasons = (detail: RunDetail): Record<string, StepFailureReason | null> => Object.fromEntries(detail.steps.map((step) => [step.platform, step.reason]));

beforeAll(async () => {
  // The dashboard's files are among the answers checked: build them when stale (a second or two).
  execSync('node scripts/build-if-stale.mjs', { cwd: ROOT, stdio: 'inherit' });
  sim = new SimulatedFeeds({ '*': { latencyMs: 0, eventsPerPage: 5 } });
  await sim.start();
  key = sim.env.SIMULATED_ODDS_API_KEY!;
  oldKey = `${key}-revoked`;
  downKey = `down-${crypto.randomUUID()}`;
  const entry = { ...sim.entryOf('oddsline'), timeoutMs: TIMEOUT_MS };
  dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-api-key-'));
  const file = path.join(dir, 'platforms.json');
  writeFileSync(
    file,
    JSON.stringify([
      entry,
      { ...entry, name: 'oddsline-old', apiKey: { env: 'ODDSLINE_OLD_KEY' } },
      { ...entry, name: 'oddsline-down', baseUrl: `http://127.0.0.1:${await closedPort()}/odds-api/oddsline`, apiKey: { env: 'ODDSLINE_DOWN_KEY' } },
    ]),
  );
  collector = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      exported.push({ path: request.url ?? '', body });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  db = await createTestDatabase();
  service = await spawnService(
    {
      DATABASE_URL: db.url,
      PLATFORMS_FILE: file,
      SIMULATED_ODDS_API_KEY: key,
      ODDSLINE_OLD_KEY: oldKey,
      ODDSLINE_DOWN_KEY: downKey,
      LOG_LEVEL: 'trace',
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
    },
    { timeoutMs: 90_000 },
  );

  // A success, a refused key and an unreachable API; then the API failing, out of quota, and hung.
  expect(reasons(await run(ENTRIES))).toEqual({ oddsline: null, 'oddsline-old': 'http_4xx', 'oddsline-down': 'network' });
  sim.set('oddsline', { failureRate: 1 });
  expect(reasons(await run(['oddsline']))).toEqual({ oddsline: 'http_5xx' });
  sim.set('oddsline', { failureRate: 0, hang: true });
  expect(reasons(await run(['oddsline']))).toEqual({ oddsline: 'timeout' });
  sim.set('oddsline', { hang: false, quota: 0 });
  expect(reasons(await run(['oddsline']))).toEqual({ oddsline: 'quota_exhausted' });

  // The preview reads the same entry, its key from the service's environment.
  const previewed = await get('/api/platforms/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...entry, name: 'oddsline-preview' }) });
  preview = { status: previewed.status, body: await previewed.text() };
}, 150_000);

afterAll(async () => {
  await service?.stop('SIGTERM');
  await db?.drop();
  await sim?.stop();
  await new Promise<void>((resolve) => (collector ? collector.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every place a key could surface, by name; none may hold any of the three keys. */
function expectNoKey(places: Record<string, string>): void {
  for (const secret of [key, oldKey, downKey]) {
    for (const [where, text] of Object.entries(places)) expect(text.includes(secret), `a key in ${where}`).toBe(false);
  }
}

describe('the odds-api key, through the built service', () => {
  it('is in no API answer: platforms, their history, runs and steps, odds, the preview, SSE', async () => {
    const places: Record<string, string> = {};
    const routes = [
      '/api/platforms',
      ...ENTRIES.map((name) => `/api/platforms/${name}`),
      ...ENTRIES.map((name) => `/api/platforms/${name}/history`),
      '/api/runs',
      '/api/runs/history',
      ...runs.map((detail) => `/api/runs/${detail.id}`),
      '/api/odds',
      '/api/meta',
      '/api/openapi.json',
    ];
    for (const route of routes) {
      const response = await get(route);
      places[`GET ${route}`] = `${response.status} ${await response.text()}`;
    }
    expect(places['GET /api/platforms']).toContain(`"baseUrl":"${String(sim.entryOf('oddsline').baseUrl)}"`);
    expect(places['GET /api/odds']).toContain('"bookmaker":"copperbet"');
    // Each failure's message is there, without the key.
    const errors = runs.flatMap((detail) => detail.steps.map((step) => step.error)).filter((error) => error !== null);
    expect(errors).toHaveLength(5);
    expect(errors.join('\n')).toMatch(/INVALID_KEY/);

    expect(preview.status).toBe(200);
    const answered = JSON.parse(preview.body) as PlatformPreview;
    expect(answered).toMatchObject({ ok: false, reason: 'quota_exhausted', kind: 'odds-api' });
    places['POST /api/platforms/preview'] = preview.body;

    const stream = await connectSse(`${service.url}/api/events`, { lastEventId: 0 });
    try {
      await stream.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === runs.at(-1)!.id);
      places['GET /api/events'] = JSON.stringify(stream.events);
    } finally {
      stream.close();
    }
    expectNoKey(places);
  });

  it('is on no /metrics line, the quota still reported', async () => {
    const exposition = await (await get('/metrics')).text();
    expect(exposition).toMatch(/oddswatch_platform_quota_remaining\{[^}]*platform="oddsline"[^}]*\} 0\b/);
    expectNoKey({ '/metrics': exposition });
  });

  it("is in none of the dashboard's HTML and JavaScript", async () => {
    const places: Record<string, string> = {};
    for (const route of ['/', '/platforms', '/odds', `/runs/${runs[0]!.id}`]) {
      const response = await get(route);
      expect(response.status, route).toBe(200);
      places[route] = await response.text();
    }
    const assets = [...places['/']!.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) places[asset] = await (await get(asset)).text();
    expectNoKey(places);
  });

  it('is in no log line, on stdout or exported, though the failures are logged', async () => {
    const stdout = JSON.stringify(service.logs);
    expect(stdout).toContain('platform scrape failed');
    await waitFor(() => exported.some((request) => request.path === '/v1/logs' && request.body.includes('platform scrape failed')), { timeoutMs: 10_000, what: 'the failures exported as log records' });
    const otlpLogs = exported.filter((request) => request.path === '/v1/logs').map((request) => request.body).join('\n');
    expectNoKey({ stdout, stderr: service.stderr.join(''), 'exported logs': otlpLogs });
  });

  it('is in no exported span, the client spans carrying it masked', async () => {
    // One client span per request the steps and the preview made: 1 + 1 (refused) + 1 (down) + 1 (503) + 1 (hung) + 1 (quota) + 1 (preview).
    const clientSpans = await waitFor(() => {
      const found = exported.filter((request) => request.path === '/v1/traces').flatMap((request) => [...request.body.matchAll(/"url\.full","value":\{"stringValue":"([^"]*)"/g)].map((match) => match[1]!));
      const odds = found.filter((url) => url.includes('/v4/sports/'));
      return odds.length >= 7 ? odds : undefined;
    }, { timeoutMs: 15_000, what: 'the client spans of every request' });
    expect(clientSpans.every((url) => url.includes('apiKey=***'))).toBe(true);
    expectNoKey({ 'exported spans': exported.filter((request) => request.path === '/v1/traces').map((request) => request.body).join('\n') });
  });
});
