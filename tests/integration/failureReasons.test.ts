import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformAdapter } from '../../src/platforms/adapter.js';
import { STEP_FAILURE_REASONS, type PlatformHistory, type PlatformInfo, type RunDetail, type StepFailureReason } from '../../src/shared/contract.js';
import { startHostileFeed, type HostileFeed, type HostileMode } from '../helpers/hostileFeed.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse } from '../helpers/sseClient.js';
import { captureSpans } from '../helpers/spans.js';
import type { TestServer } from '../helpers/testServer.js';
import { closedPort } from '../helpers/closedPort.js';

/**
 * Why a step failed, from real feeds on loopback that fail one way each, through the real service: the
 * step's reason in GET /api/runs/:id, the platform.failed SSE payload, the platform span's
 * `oddswatch.failure_reason`, the `reason` label of the platform scrape counter, the platform history
 * and the last error of GET /api/platforms.
 */
const { exporter, provider } = captureSpans(); // before the service modules load (dynamic import below)

/**
 * Platform name -> the hostile mode it reads (or a closed port, a cloud metadata address, an adapter that
 * breaks with an error of its own) and the reason its step must record.
 */
const CASES: { name: string; mode: HostileMode | 'refused' | 'metadata' | 'adapter-bug' | BrowserPage; reason: StepFailureReason; extra?: Record<string, unknown> }[] = [
  { name: 'r-timeout', mode: 'hang', reason: 'timeout', extra: { timeoutMs: 600 } },
  { name: 'r-refused', mode: 'refused', reason: 'network' },
  { name: 'r-reset', mode: 'reset', reason: 'network' },
  { name: 'r-404', mode: 'error404', reason: 'http_4xx' },
  { name: 'r-500', mode: 'error500', reason: 'http_5xx' },
  { name: 'r-429', mode: 'error429', reason: 'rate_limited' },
  { name: 'r-403', mode: 'error403', reason: 'blocked' },
  { name: 'r-challenge', mode: 'challenge', reason: 'blocked' },
  { name: 'r-junk', mode: 'invalid-json', reason: 'parse' },
  { name: 'r-shape', mode: 'wrong-shape', reason: 'parse' },
  { name: 'r-huge', mode: 'huge', reason: 'too_large', extra: { maxResponseBytes: 65_536 } },
  { name: 'r-metadata', mode: 'metadata', reason: 'forbidden_address' },
  { name: 'r-bug', mode: 'adapter-bug', reason: 'unexpected' },
  { name: 'r-layout', mode: 'browser-layout', reason: 'layout' },
  { name: 'r-crash', mode: 'browser-crash', reason: 'browser' },
];
/** Pages for `browser` platforms: one whose odds never appear (a redesign), one whose renderer runs out of memory. */
type BrowserPage = 'browser-layout' | 'browser-crash';
const BROWSER_PAGES: Record<BrowserPage, string> = {
  'browser-layout': '<!doctype html><main><div class="card-v2">Arsenal v Celtic 2.40</div></main>',
  'browser-crash': '<!doctype html><script>const kept = []; for (;;) kept.push(new Array(1e6).fill(Math.random()));</script>',
};
const DOM = { waitFor: '.event-card', rows: { event: '.event-card', id: '.id', name: '.name', markets: [{ name: 'match_result', selections: [{ name: 'home', price: '.home' }] }] } };
const EXPECTED = Object.fromEntries(CASES.map((c) => [c.name, c.reason]));

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-reasons-'));
let feed: HostileFeed;
let pages: http.Server;
let server: TestServer;
let run: RunDetail;


beforeAll(async () => {
  feed = await startHostileFeed();
  const refusedPort = await closedPort();
  pages = http.createServer((request, response) => {
    const page = BROWSER_PAGES[request.url?.slice(1) as BrowserPage];
    response.writeHead(page ? 200 : 404, { 'content-type': 'text/html' }).end(page ?? '');
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  const pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  const file = path.join(dir, 'platforms.json');
  const entries = [
    { name: 'r-ok', baseUrl: `${feed.url}/healthy`, timeoutMs: 5_000 },
    ...CASES.map(({ name, mode, extra }) =>
      mode in BROWSER_PAGES
        ? { name, kind: 'browser', url: `${pagesUrl}/${mode}`, waitTimeoutMs: 1_000, timeoutMs: 10_000, dom: DOM }
        : {
            name,
            baseUrl: mode === 'refused' ? `http://127.0.0.1:${refusedPort}/feed` : mode === 'metadata' ? 'http://169.254.169.254/latest/meta-data' : `${feed.url}/${mode}`,
            timeoutMs: 5_000,
            ...extra,
          },
    ),
  ];
  writeFileSync(file, JSON.stringify(entries));
  const { startTestServer } = await import('../helpers/testServer.js');
  server = await startTestServer({ PLATFORMS_FILE: file });
  // A kind's own defect: an error that is no PlatformError, thrown after a page was saved.
  const adapters = server.platforms.adapters as Map<string, PlatformAdapter>;
  const healthy = adapters.get('r-ok')!;
  adapters.set('r-bug', {
    name: 'r-bug',
    kind: healthy.kind,
    baseUrl: healthy.baseUrl,
    timeoutMs: healthy.timeoutMs,
    async scrape(signal, onProgress, observer) {
      await healthy.scrape(signal, onProgress, observer, 1);
      throw new TypeError("Cannot read properties of undefined (reading 'price')");
    },
  });
  const response = await server.api('/api/runs', { method: 'POST', json: {} });
  expect(response.status).toBe(202);
  run = await server.waitForRun(((await response.json()) as RunDetail).id, ['partial'], 30_000);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await feed?.close();
  pages?.closeAllConnections();
  await new Promise((resolve) => pages?.close(resolve));
  await provider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('a failed step records why, from the closed set', () => {
  it('in GET /api/runs/:id: one reason per failing feed, none on the completed step', () => {
    const reasons = Object.fromEntries(run.steps.map((step) => [step.platform, step.reason]));
    expect(reasons).toEqual({ 'r-ok': null, ...EXPECTED });
    for (const step of run.steps) expect(step.status).toBe(step.platform === 'r-ok' ? 'completed' : 'failed');
    expect(run.steps.find((step) => step.platform === 'r-challenge')!.error).toMatch(/challenge page/);
    expect(run.steps.find((step) => step.platform === 'r-metadata')!.error).toMatch(/169\.254\.169\.254/);
    // Every member a feed can cause is produced here (quota_exhausted needs a kind that knows a quota, refused_value a database refusal,
    // interrupted a replica dying at each attempt: tests/faults/killMidRun.test.ts).
    expect(new Set(Object.values(EXPECTED))).toEqual(new Set(STEP_FAILURE_REASONS.filter((r) => r !== 'quota_exhausted' && r !== 'refused_value' && r !== 'interrupted')));
  });

  it('in the platform.failed SSE payload', async () => {
    const client = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    try {
      await client.waitForEvent((event) => event.data.type === 'run.finished');
      const failed = client.events.flatMap((event) => (event.data.type === 'platform.failed' ? [event.data.data] : []));
      expect(Object.fromEntries(failed.map((data) => [data.platform, data.reason]))).toEqual(EXPECTED);
      const finished = client.events.find((event) => event.data.type === 'run.finished')!.data;
      if (finished.type !== 'run.finished') throw new Error('unreachable');
      expect(Object.fromEntries(finished.data.run.steps.map((step) => [step.platform, step.reason]))).toEqual({ 'r-ok': null, ...EXPECTED });
    } finally {
      client.close();
    }
  });

  it('on the platform span as oddswatch.failure_reason (absent on a completed platform)', () => {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'scrape.platform' && span.attributes['oddswatch.run.id'] === run.id);
    const byPlatform = Object.fromEntries(spans.map((span) => [String(span.attributes['oddswatch.platform']), span.attributes['oddswatch.failure_reason'] ?? null]));
    expect(byPlatform).toEqual({ 'r-ok': null, ...EXPECTED });
  });

  it('as the reason label of the platform scrape counter, on failed scrapes only', async () => {
    const metrics = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    const name = 'oddswatch_platform_scrape_duration_seconds';
    for (const { name: platform, reason } of CASES) {
      const outcome = reason === 'timeout' ? 'timeout' : 'failed';
      expect(metrics.histogramCount(name, { platform, outcome, reason }), platform).toBe(1);
    }
    const ok = metrics.samples(`${name}_count`).filter((sample) => sample.labels.platform === 'r-ok');
    expect(ok.map((sample) => sample.labels)).toEqual([{ platform: 'r-ok', outcome: 'completed' }]);
    const labelled = metrics.samples(`${name}_count`).flatMap((sample) => (sample.labels.reason ? [sample.labels.reason] : []));
    for (const reason of labelled) expect(STEP_FAILURE_REASONS).toContain(reason);
  });

  it("in a platform's history and as its last error (GET /api/platforms/:name/history, GET /api/platforms)", async () => {
    const history = (await (await server.api('/api/platforms/r-429/history')).json()) as PlatformHistory;
    expect(history.items.map((item) => item.reason)).toEqual(['rate_limited']);
    expect(history.lastError).toMatchObject({ runId: run.id, reason: 'rate_limited' });
    const { items } = (await (await server.api('/api/platforms')).json()) as { items: PlatformInfo[] };
    expect(Object.fromEntries(items.map((item) => [item.name, item.lastError?.reason ?? null]))).toEqual({ 'r-ok': null, ...EXPECTED });
  });

  it('in the failure log line, with the run id', () => {
    const lines = server.logs.filter((line) => line.msg === 'platform scrape failed' && line.run_id === run.id);
    expect(Object.fromEntries(lines.map((line) => [String(line.platform), line.reason]))).toEqual(EXPECTED);
  });
});
