import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILED_PLATFORMS_LISTED, FAILURE_RATE_WINDOW } from '../../src/shared/contract.js';
import type { PlatformHistory, PlatformInfo, RunDetail, RunPage } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * "Which bookmaker is failing and why": each platform's failure rate over its last FAILURE_RATE_WINDOW scrapes and
 * its last error (GET /api/platforms, GET /api/platforms/:name/history), and the failed platforms of each run
 * (GET /api/runs), from real runs whose simulated feeds fail.
 */
let server: TestServer;
const runs: RunDetail[] = [];
/** Indexes (in `runs`) of the runs where redfox failed. */
const redfoxFailedIn: number[] = [];

async function run(platforms: string[], statuses: RunDetail['status'][]): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: { platforms } });
  expect(response.status).toBe(202);
  const finished = await server.waitForRun(((await response.json()) as RunDetail).id, statuses);
  runs.push(finished);
  return finished;
}

async function json<T>(target: TestServer, url: string): Promise<T> {
  const response = await target.api(url);
  expect(response.status, url).toBe(200);
  return (await response.json()) as T;
}

const stepOf = (detail: RunDetail, platform: string) => detail.steps.find((step) => step.platform === platform)!;
const platformInfo = async (name: string) => (await json<{ items: PlatformInfo[] }>(server, '/api/platforms')).items.find((item) => item.name === name)!;

beforeAll(async () => {
  server = await startTestServer();
  const feeds = server.platforms.simulated!;
  // Run 0: both fail (northwind never again, so its last error is older than its window).
  feeds.set('redfox', { failureRate: 1 });
  feeds.set('northwind', { failureRate: 1 });
  await run(['redfox', 'northwind'], ['failed']);
  redfoxFailedIn.push(0);
  feeds.set('northwind', { failureRate: 0 });
  // Then FAILURE_RATE_WINDOW runs where redfox fails every fifth one (4 of them, the last three runs before the end).
  for (let i = 0; i < FAILURE_RATE_WINDOW; i++) {
    const failing = i % 5 === 1;
    feeds.set('redfox', { failureRate: failing ? 1 : 0 });
    await run(['redfox', 'northwind'], [failing ? 'partial' : 'completed']);
    if (failing) redfoxFailedIn.push(runs.length - 1);
  }
}, 120_000);
afterAll(async () => server?.close());

describe('GET /api/platforms: failure rate over the last scrapes and the last error', () => {
  it('counts the failures among the platform last FAILURE_RATE_WINDOW finished scrapes, oldest first', async () => {
    const redfox = await platformInfo('redfox');
    const window = runs.slice(-FAILURE_RATE_WINDOW);
    expect(redfox.recentOutcomes).toEqual(window.map((r) => (stepOf(r, 'redfox').status === 'completed' ? 'completed' : 'failed')));
    expect(redfox.recentOutcomes).toHaveLength(FAILURE_RATE_WINDOW);
    // The failure of run 0 has left the window: 4 of the last 20, not 5 of 21.
    expect(redfox.recentFailures).toBe(4);
    expect(redfox.failureRate).toBe(4 / FAILURE_RATE_WINDOW);
    expect(redfox.lastOutcome).toBe('completed');
  });

  it('gives the last error as stored (message, when, run, outcome, reason)', async () => {
    const redfox = await platformInfo('redfox');
    const lastFailed = runs[redfoxFailedIn.at(-1)!]!;
    const step = stepOf(lastFailed, 'redfox');
    expect(step.status).toBe('failed');
    expect(step.error).toBeTruthy();
    expect(step.reason).toBe('http_5xx');
    expect(redfox.lastError).toEqual({ message: step.error, at: step.finishedAt, runId: lastFailed.id, outcome: 'failed', reason: 'http_5xx' });
  });

  it('keeps the last error of a platform that has not failed within its window, and has nothing for one never scraped', async () => {
    const northwind = await platformInfo('northwind');
    expect(northwind.recentOutcomes).toEqual(Array(FAILURE_RATE_WINDOW).fill('completed'));
    expect(northwind.recentFailures).toBe(0);
    expect(northwind.failureRate).toBe(0);
    const step = stepOf(runs[0]!, 'northwind');
    expect(northwind.lastError).toEqual({ message: step.error, at: step.finishedAt, runId: runs[0]!.id, outcome: 'failed', reason: 'http_5xx' });

    const bluepeak = await platformInfo('bluepeak');
    expect(bluepeak).toMatchObject({ recentOutcomes: [], recentFailures: 0, failureRate: null, lastError: null, lastOutcome: null });
  });
});

describe('GET /api/platforms/:name/history: the same health for the bookmaker page, and each scrape error', () => {
  it('carries the failure rate and last error as GET /api/platforms does, whatever the limit', async () => {
    const redfox = await platformInfo('redfox');
    for (const query of ['', '?limit=5', `?limit=200`]) {
      const history = await json<PlatformHistory>(server, `/api/platforms/redfox/history${query}`);
      expect(history, query).toMatchObject({
        recentOutcomes: redfox.recentOutcomes,
        recentFailures: redfox.recentFailures,
        failureRate: redfox.failureRate,
        lastError: redfox.lastError,
      });
    }
    expect((await json<PlatformHistory>(server, '/api/platforms/bluepeak/history')).lastError).toBeNull();
  });

  it('gives every scrape its error (null when it completed)', async () => {
    const history = await json<PlatformHistory>(server, '/api/platforms/redfox/history?limit=200');
    expect(history.items.map((scrape) => scrape.runId)).toEqual(runs.map((r) => r.id));
    expect(history.items.map((scrape) => scrape.error)).toEqual(runs.map((r) => stepOf(r, 'redfox').error));
    expect(history.items.filter((scrape) => scrape.error !== null)).toHaveLength(redfoxFailedIn.length);
  });
});

describe('GET /api/runs: the platforms that failed in each run', () => {
  it('names the failed platforms of every run in the run platform order, none for a completed run', async () => {
    const page = await json<RunPage>(server, '/api/runs?limit=100');
    const byId = new Map(page.items.map((item) => [item.id, item]));
    expect(byId.get(runs[0]!.id)!.failedPlatforms).toEqual(['redfox', 'northwind']);
    for (const [index, detail] of runs.entries()) {
      const expected = redfoxFailedIn.includes(index) ? (index === 0 ? ['redfox', 'northwind'] : ['redfox']) : [];
      expect(byId.get(detail.id)!.failedPlatforms, `run ${index}`).toEqual(expected);
      expect(byId.get(detail.id)!.platformsFailed).toBe(expected.length);
    }
    // The run and its events say the same.
    expect((await json<RunDetail>(server, `/api/runs/${runs[0]!.id}`)).failedPlatforms).toEqual(['redfox', 'northwind']);
  });

  it(`names at most ${FAILED_PLATFORMS_LISTED} failed platforms; platformsFailed counts them all`, async () => {
    // Twelve real feeds that refuse every connection.
    const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-failing-feeds-'));
    const file = path.join(dir, 'platforms.json');
    const names = Array.from({ length: 12 }, (_, i) => `down${String(i).padStart(2, '0')}`).reverse();
    writeFileSync(file, JSON.stringify(names.map((name) => ({ name, baseUrl: 'http://127.0.0.1:9/feed', timeoutMs: 2_000 }))));
    const failing = await startTestServer({ PLATFORMS_FILE: file });
    try {
      const response = await failing.api('/api/runs', { method: 'POST', json: {} });
      const finished = await failing.waitForRun(((await response.json()) as RunDetail).id, ['failed'], 30_000);
      expect(finished.platformsFailed).toBe(12);
      const listed = (await json<RunPage>(failing, '/api/runs')).items[0]!;
      expect(listed.failedPlatforms).toEqual(names.slice(0, FAILED_PLATFORMS_LISTED));
      expect(listed.platformsFailed).toBe(12);
    } finally {
      await failing.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
