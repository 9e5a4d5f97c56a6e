import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../src/platforms/platformHttp.js';
import { SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import { HUGE_BODY_BYTES, startHostileFeed, type HostileFeed } from '../helpers/hostileFeed.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { recordFault } from './report.js';

/**
 * Feeds that misbehave in every way a bookmaker's server can, next to a healthy built-in one: each
 * hostile platform's step fails with a clear error within its timeout, the run ends partial, and the
 * service's memory stays bounded while a feed sends 50 MB.
 */
const TIMEOUT_MS = 3_000;
const EXPECTED: Record<string, RegExp> = {
  hang: new RegExp(`^timed out after ${TIMEOUT_MS} ms$`),
  trickle: new RegExp(`^timed out after ${TIMEOUT_MS} ms$`),
  reset: /^fetch failed: (other side closed|socket hang up|.*ECONNRESET.*)$/,
  error500: /^platform answered HTTP 500 on page 1$/,
  'invalid-json': /^page 1 is not valid JSON$/,
  huge: new RegExp(`^page 1 is larger than ${DEFAULT_MAX_RESPONSE_BYTES} bytes$`),
};

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-hostile-'));
let feed: HostileFeed;
let builtIn: SimulatedFeeds;
let server: TestServer;

beforeAll(async () => {
  feed = await startHostileFeed();
  builtIn = new SimulatedFeeds({ '*': { latencyMs: 20, pages: 2, eventsPerPage: 5 } });
  await builtIn.start();
  const platforms = [
    { name: 'northwind', baseUrl: builtIn.urlOf('northwind'), timeoutMs: TIMEOUT_MS },
    ...Object.keys(EXPECTED).map((mode) => ({ name: mode, baseUrl: `${feed.url}/${mode}`, timeoutMs: TIMEOUT_MS })),
  ];
  writeFileSync(path.join(dir, 'platforms.json'), JSON.stringify(platforms));
  server = await startTestServer({ PLATFORMS_FILE: path.join(dir, 'platforms.json'), SCRAPE_CONCURRENCY: String(platforms.length) });
});
afterAll(async () => {
  await server?.close();
  await feed?.close();
  await builtIn?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('hostile feeds', () => {
  it('fail their own steps with a clear error within the timeout; the run ends partial; memory stays bounded', async () => {
    global.gc?.();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let peakHeap = baseline.heapUsed;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakHeap = Math.max(peakHeap, now.heapUsed);
    }, 25);
    const started = Date.now();
    const created = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as { id: number };
    const run = await server.waitForRun(created.id, ['completed', 'partial', 'failed'], 30_000);
    const runMs = Date.now() - started;
    clearInterval(sampler);

    expect(run.status).toBe('partial');
    const steps = Object.fromEntries(run.steps.map((step) => [step.platform, step]));
    expect(steps.northwind).toMatchObject({ status: 'completed', eventsFound: 10 });
    const figure: Record<string, number | string> = {};
    for (const [mode, pattern] of Object.entries(EXPECTED)) {
      const step = steps[mode]!;
      expect(step.status, mode).toBe('failed');
      expect(step.error, mode).toMatch(pattern);
      expect(step.durationMs, mode).toBeLessThanOrEqual(TIMEOUT_MS + 1_000);
      figure[`${mode}_step_ms`] = step.durationMs!;
    }
    expect(runMs).toBeLessThan(TIMEOUT_MS + 5_000);
    // The service stopped reading at the limit: the feed could not push its 50 MB through.
    expect(feed.hugeBytesSent).toBeLessThan(HUGE_BODY_BYTES);
    const rssGrowthMb = (peakRss - baseline.rss) / 2 ** 20;
    const heapGrowthMb = (peakHeap - baseline.heapUsed) / 2 ** 20;
    expect(rssGrowthMb).toBeLessThan(120);
    expect(heapGrowthMb).toBeLessThan(60);
    recordFault({
      name: 'feeds: hang, reset, 500, invalid JSON, 50 MB body, 1 byte/s (next to a healthy feed)',
      endState: `run ${run.status}; healthy feed completed; each hostile step failed with its own error`,
      figure: {
        ...figure,
        run_ms: runMs,
        platform_timeout_ms: TIMEOUT_MS,
        response_limit_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        huge_feed_bytes_sent: feed.hugeBytesSent,
        peak_rss_growth_mb: Math.round(rssGrowthMb * 10) / 10,
        peak_heap_growth_mb: Math.round(heapGrowthMb * 10) / 10,
      },
    });
  });
});
