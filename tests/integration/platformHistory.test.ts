import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, PlatformHistory, RunDetail, RunHistory } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let server: TestServer;
const runs: RunDetail[] = [];

async function run(platforms: string[], statuses: RunDetail['status'][]): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: { platforms } });
  expect(response.status).toBe(202);
  const created = (await response.json()) as RunDetail;
  const finished = await server.waitForRun(created.id, statuses);
  runs.push(finished);
  return finished;
}

async function json<T>(path: string): Promise<T> {
  const response = await server.api(path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

beforeAll(async () => {
  // A short platform timeout so a hung feed times out quickly.
  server = await startTestServer({ PLATFORM_TIMEOUT_MS: '800' });
  const feeds = server.platforms.simulated!;
  await run(['redfox', 'northwind'], ['completed']);
  feeds.set('redfox', { failureRate: 1 });
  await run(['redfox', 'northwind'], ['partial']);
  feeds.set('redfox', { failureRate: 0, hang: true });
  await run(['redfox'], ['failed']);
  feeds.set('redfox', { hang: false });
  await run(['redfox'], ['completed']);
}, 60_000);
afterAll(async () => server?.close());

describe('GET /api/platforms/:name/history', () => {
  it('lists the platform last scrapes oldest first, one per platform step, with their outcome', async () => {
    const history = await json<PlatformHistory>('/api/platforms/redfox/history');
    expect(history.platform).toBe('redfox');
    expect(history.items.map((scrape) => scrape.runId)).toEqual(runs.map((r) => r.id));
    expect(history.items.map((scrape) => scrape.outcome)).toEqual(['completed', 'failed', 'timeout', 'completed']);
    expect(history.items.map((scrape) => scrape.hasError)).toEqual([false, true, true, false]);
    expect(history.items.map((scrape) => scrape.reason)).toEqual([null, 'http_5xx', 'timeout', null]);
    expect(history.items.map((scrape) => scrape.eventsFound)).toEqual([10, 0, 0, 10]);
    for (const [index, scrape] of history.items.entries()) {
      const step = runs[index]!.steps.find((s) => s.platform === 'redfox')!;
      expect(scrape).toEqual({
        runId: runs[index]!.id,
        startedAt: step.startedAt,
        finishedAt: step.finishedAt,
        durationMs: step.durationMs,
        eventsFound: step.eventsFound,
        outcome: scrape.outcome,
        hasError: step.error !== null,
        error: step.error,
        reason: step.reason,
        volumeDrop: null,
      });
    }
    expect(history.items[2]!.durationMs).toBeGreaterThanOrEqual(700);
    const finished = history.items.map((scrape) => Date.parse(scrape.finishedAt));
    expect(finished).toEqual([...finished].sort((a, b) => a - b));
  });

  it('holds only the runs that scraped the platform', async () => {
    const history = await json<PlatformHistory>('/api/platforms/northwind/history');
    expect(history.items.map((scrape) => scrape.runId)).toEqual([runs[0]!.id, runs[1]!.id]);
    expect(history.items.map((scrape) => scrape.outcome)).toEqual(['completed', 'completed']);
    expect((await json<PlatformHistory>('/api/platforms/bluepeak/history')).items).toEqual([]);
  });

  it('returns the newest `limit` scrapes, still oldest first', async () => {
    const history = await json<PlatformHistory>('/api/platforms/redfox/history?limit=2');
    expect(history.items.map((scrape) => scrape.runId)).toEqual([runs[2]!.id, runs[3]!.id]);
  });

  it('answers 404 for an unknown platform and 400 for a bad limit', async () => {
    const unknown = await server.api('/api/platforms/nowhere/history');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ApiErrorBody).error.code).toBe('not_found');
    for (const query of ['?limit=0', '?limit=201', '?limit=many', '?since=1']) {
      const response = await server.api(`/api/platforms/redfox/history${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as ApiErrorBody).error.code, query).toBe('invalid_request');
    }
  });
});

describe('GET /api/runs/history', () => {
  it('lists the last finished runs oldest first with status and duration', async () => {
    const history = await json<RunHistory>('/api/runs/history');
    expect(history.items.map((point) => point.id)).toEqual(runs.map((r) => r.id));
    expect(history.items.map((point) => point.status)).toEqual(['completed', 'partial', 'failed', 'completed']);
    for (const [index, point] of history.items.entries()) {
      expect(point).toEqual({
        id: runs[index]!.id,
        status: runs[index]!.status,
        trigger: 'api',
        failureReason: runs[index]!.failureReason,
        startedAt: runs[index]!.startedAt,
        finishedAt: runs[index]!.finishedAt,
        durationMs: runs[index]!.durationMs,
      });
    }
    expect(history.items[2]!.failureReason).toBe('all_platforms_failed');
  });

  it('bounds the series by limit, leaves an active run out, and does not shadow /api/runs/:id', async () => {
    const limited = await json<RunHistory>('/api/runs/history?limit=3');
    expect(limited.items.map((point) => point.id)).toEqual(runs.slice(1).map((r) => r.id));
    expect((await server.api('/api/runs/history?limit=201')).status).toBe(400);
    expect((await json<RunDetail>(`/api/runs/${runs[0]!.id}`)).id).toBe(runs[0]!.id);

    server.platforms.simulated!.set('bluepeak', { latencyMs: 300 });
    const response = await server.api('/api/runs', { method: 'POST', json: { platforms: ['bluepeak'] } });
    const active = (await response.json()) as RunDetail;
    expect((await json<RunHistory>('/api/runs/history')).items.map((point) => point.id)).not.toContain(active.id);
    await server.waitForRun(active.id, ['completed']);
    expect((await json<RunHistory>('/api/runs/history')).items.at(-1)?.id).toBe(active.id);
  });
});
