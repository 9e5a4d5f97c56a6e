import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { SIMULATED_BOOKMAKERS } from '../../src/platforms/simulatedFeeds.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const PLATFORMS = Object.keys(SIMULATED_BOOKMAKERS);
let server: TestServer;
const feeds = () => server.platforms.simulated!;

beforeAll(async () => {
  // The shipped defaults: the browser platforms' steps take seconds under load, so no shortened platform timeout here.
  server = await startTestServer();
});
afterAll(async () => server?.close());
beforeEach(() => {
  for (const name of PLATFORMS) feeds().set(name, { latencyMs: 20, pages: 2, eventsPerPage: 5, failureRate: 0, hang: false });
});

async function runToEnd(body: unknown = {}, on: TestServer = server): Promise<RunDetail> {
  const response = await on.api('/api/runs', { method: 'POST', json: body });
  expect(response.status).toBe(202);
  const run = (await response.json()) as RunDetail;
  return on.waitForRun(run.id, ['completed', 'partial', 'failed', 'connection_failed'], 25_000);
}

/** The most platform steps of the run that were running at the same moment. */
function maxOverlap(run: RunDetail): number {
  const intervals = run.steps.map((step) => [Date.parse(step.startedAt!), Date.parse(step.finishedAt!)] as const);
  let most = 0;
  for (const [start] of intervals) most = Math.max(most, intervals.filter(([s, f]) => s <= start && f > start).length);
  return most;
}

describe('run engine against the simulated feeds over HTTP', () => {
  it('completes when every platform succeeds, with odds persisted and counted', async () => {
    const run = await runToEnd();
    expect(run.status).toBe('completed');
    expect(run.failureReason).toBeNull();
    expect(run.steps.map((step) => step.platform)).toEqual(PLATFORMS);
    // 10 events per platform (2 pages of 5), 5 selections each; the odds API answers one request (5 events) for its 3 bookmakers.
    const expected = (platform: string) => (SIMULATED_BOOKMAKERS[platform]!.kind === 'odds-api' ? { events: 5, odds: 5 * 5 * 3 } : { events: 10, odds: 10 * 5 });
    for (const step of run.steps) expect(step, step.platform).toMatchObject({ status: 'completed', eventsFound: expected(step.platform).events });
    expect(run.eventsFound).toBe(PLATFORMS.reduce((sum, platform) => sum + expected(platform).events, 0));
    const counts = await server.db.query<{ platform: string; count: number }>('select platform, count(*)::int as count from odds where run_id = $1 group by platform', [run.id]);
    expect(Object.fromEntries(counts.map((row) => [row.platform, row.count]))).toEqual(Object.fromEntries(PLATFORMS.map((platform) => [platform, expected(platform).odds])));
  });

  it('is partial when one platform fails, with the error on its step', async () => {
    feeds().set('redfox', { failureRate: 1 });
    const run = await runToEnd();
    expect(run.status).toBe('partial');
    const redfox = run.steps.find((step) => step.platform === 'redfox')!;
    expect(redfox.status).toBe('failed');
    expect(redfox.error).toContain('HTTP 503');
    expect(run.platformsFailed).toBe(1);
    expect(run.platformsSucceeded).toBe(PLATFORMS.length - 1);
  });

  it('fails when every platform fails', async () => {
    for (const name of PLATFORMS) feeds().set(name, { failureRate: 1 });
    const run = await runToEnd();
    expect(run.status).toBe('failed');
    expect(run.failureReason).toBe('all_platforms_failed');
  });

  it('cuts a hanging platform at its timeout and finishes the others', async () => {
    // Its own service with the platform timeout shortened, so the hang is cut sooner; the pool keeps its defaults.
    const short = await startTestServer({ PLATFORM_TIMEOUT_MS: '1500' });
    try {
      for (const name of PLATFORMS) short.platforms.simulated!.set(name, { latencyMs: 20, pages: 2, eventsPerPage: 5 });
      short.platforms.simulated!.set('luckyowl', { hang: true });
      const started = Date.now();
      const run = await runToEnd({}, short);
      expect(run.status).toBe('partial');
      const step = run.steps.find((candidate) => candidate.platform === 'luckyowl')!;
      expect(step.error).toBe('timed out after 1500 ms');
      expect(step.durationMs).toBeGreaterThanOrEqual(1400);
      expect(step.durationMs).toBeLessThan(3000);
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      await short.close();
    }
  });

  it('with the default pool, scrapes every platform of a run at once (measured)', async () => {
    for (const name of PLATFORMS) feeds().set(name, { latencyMs: 120 });
    feeds().set('oddsline', { latencyMs: 240 }); // its one request as long as the others' two pages
    const run = await runToEnd();
    expect(maxOverlap(run), JSON.stringify(run.steps.map((s) => [s.platform, s.startedAt, s.finishedAt, s.status]))).toBe(PLATFORMS.length);
  });

  it('upserts odds: a second run updates rows instead of duplicating them', async () => {
    const first = await runToEnd({ platforms: ['northwind'] });
    const [before] = await server.db.query<{ count: string }>(`select count(*) from odds where platform = 'northwind'`);
    const second = await runToEnd({ platforms: ['northwind'] });
    const [after] = await server.db.query<{ count: string }>(`select count(*) from odds where platform = 'northwind'`);
    expect(Number(after!.count)).toBe(Number(before!.count));
    const rows = await server.db.query<{ run_id: string }>(`select distinct run_id from odds where platform = 'northwind'`);
    expect(rows.map((row) => Number(row.run_id))).toEqual([second.id]);
    expect(second.id).toBeGreaterThan(first.id);
  });

  it('persists every progress event in seq order with no gap, created first and finished last; progress coalesced to one per second', async () => {
    const run = await runToEnd({ platforms: ['northwind', 'bluepeak'] });
    const events = await server.db.query<{ seq: number; type: string; payload: { platform?: string }; created_at: Date }>(
      'select seq, type, payload, created_at from run_events where run_id = $1 order by seq',
      [run.id],
    );
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events[0]!.type).toBe('run.created');
    expect(events[1]!.type).toBe('run.started');
    expect(events.at(-1)!.type).toBe('run.finished');
    for (const platform of ['northwind', 'bluepeak']) {
      const own = events.filter((event) => event.payload.platform === platform);
      const types = own.map((event) => event.type);
      // Two pages: the first is reported at once; a later one only once PROGRESS_EVENT_INTERVAL_MS has passed
      // (its count otherwise comes with platform.completed), so under load there may be a second progress event.
      expect(types[0]).toBe('platform.started');
      expect(types.at(-1)).toBe('platform.completed');
      const progress = own.filter((event) => event.type === 'platform.progress');
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress.length).toBeLessThanOrEqual(2);
      if (progress.length === 2) expect(progress[1]!.created_at.getTime() - progress[0]!.created_at.getTime()).toBeGreaterThanOrEqual(900);
      const completed = events.find((event) => event.payload.platform === platform && event.type === 'platform.completed')!;
      expect(completed.payload).toMatchObject({ eventsFound: 10 });
    }
  });

  it('retries matching through a moment the database is unreachable, as it does the write after it', async () => {
    const matcher = server.runs.matcher as { match: typeof server.runs.matcher.match };
    const match = matcher.match;
    let refused = 0;
    // The first two matching transactions of northwind meet a database that refuses connections.
    matcher.match = async (platform, batch) => {
      if (platform === 'northwind' && refused < 2) {
        refused += 1;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      }
      return match(platform, batch);
    };
    try {
      const run = await runToEnd({ platforms: ['northwind', 'bluepeak'] });
      expect(refused).toBe(2);
      expect(run.status).toBe('completed');
      expect(run.steps.find((step) => step.platform === 'northwind')).toMatchObject({ status: 'completed', eventsFound: 10 });
      const retries = server.logs.filter((line) => line.run_id === run.id && line.msg === 'database unreachable; retrying the write');
      expect(retries.map((line) => line.platform)).toEqual(['northwind', 'northwind']);
      const [odds] = await server.db.query<{ n: number }>(`select count(*)::int as n from odds where run_id = $1 and platform = 'northwind'`, [run.id]);
      expect(odds!.n).toBe(10 * 5);
    } finally {
      matcher.match = match;
    }
  });

  it('logs every run state change with the run id', async () => {
    const run = await runToEnd({ platforms: ['northwind'] });
    const messages = server.logs.filter((line) => line.run_id === run.id).map((line) => line.msg);
    expect(messages).toEqual(expect.arrayContaining(['run created', 'run started', 'platform scrape started', 'platform scrape completed', 'run completed']));
    const platformLines = server.logs.filter((line) => line.run_id === run.id && line.msg.startsWith('platform'));
    expect(platformLines.every((line) => line.platform === 'northwind')).toBe(true);
  });
});

describe('SCRAPE_CONCURRENCY, the ceiling of the pool', () => {
  it('never scrapes more platforms at once than SCRAPE_CONCURRENCY (measured)', async () => {
    const capped = await startTestServer({ SCRAPE_CONCURRENCY: '2' });
    try {
      for (const name of PLATFORMS) capped.platforms.simulated!.set(name, { latencyMs: 120 });
      const scrape = () => MetricsSnapshot.scrape(`${capped.url}/metrics`);
      // Mid-run, the pool's gauges: both slots in use, the other steps waiting for one.
      const running = runToEnd({}, capped);
      const busy = await waitFor(async () => {
        const snapshot = await scrape();
        return snapshot.value('oddswatch_scrape_slots_in_use') === 2 && snapshot.value('oddswatch_scrape_steps_waiting') > 0 ? snapshot : undefined;
      }, { what: 'both slots in use and steps waiting' });
      expect(busy.value('oddswatch_scrape_slots')).toBe(2);
      expect(maxOverlap(await running)).toBe(2);
      // Each step's wait for its slot: the first two at once, every other one after a scrape at least.
      const after = await scrape();
      expect(after.histogramCount('oddswatch_scrape_slot_wait_seconds')).toBe(PLATFORMS.length);
      expect(after.histogramCount('oddswatch_scrape_slot_wait_seconds', { kind: 'browser' })).toBe(PLATFORMS.filter((name) => capped.platforms.adapters.get(name)!.kind === 'browser').length);
      // The wait runs from the step's job being queued: at most the first two took a slot at once.
      expect(after.value('oddswatch_scrape_slot_wait_seconds_bucket', { le: '0.05' })).toBeLessThanOrEqual(2);
      expect(after.value('oddswatch_scrape_slot_wait_seconds_sum')).toBeGreaterThan((PLATFORMS.length - 2) * 0.1);
      expect([after.value('oddswatch_scrape_slots_in_use'), after.value('oddswatch_scrape_steps_waiting')]).toEqual([0, 0]);
    } finally {
      await capped.close();
    }
  });
});
