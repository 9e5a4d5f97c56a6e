import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformHistory, RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { FAST_FEEDS, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The silent-feed check end to end: normal scrapes of redfox (FAST_FEEDS: 2 pages of 5 sporting
 * events), then thin ones through the simulated feed's `eventsFraction` knob; the flag on the step
 * (GET /api/runs/:id), in the live platform.completed event, in the history, the metrics and the log.
 */

let db: TestDatabase;
let server: TestServer;
let stream: SseClient;

async function scrapeRedfox(): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } });
  expect(response.status).toBe(202);
  const created = (await response.json()) as RunDetail;
  return server.waitForRun(created.id, ['completed', 'failed']);
}
const stepOf = (run: RunDetail) => run.steps.find((step) => step.platform === 'redfox')!;
const metrics = () => MetricsSnapshot.scrape(`${server.url}/metrics`);

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({}, db);
  stream = await connectSse(`${server.url}/api/events`);
});
afterAll(async () => {
  stream?.close();
  await server?.close();
  await db?.drop();
});

describe('volume drop (a silent feed)', () => {
  it('exports the drop counter at 0 for every platform and no last-scrape gauge before any success', async () => {
    const snapshot = await metrics();
    expect(snapshot.type('oddswatch_platform_volume_drops_total')).toBe('COUNTER');
    expect(snapshot.samples('oddswatch_platform_volume_drops_total').map((s) => s.labels.platform).sort()).toEqual([...server.platforms.names].sort());
    expect(snapshot.samples('oddswatch_platform_volume_drops_total').every((s) => s.value === 0)).toBe(true);
    expect(snapshot.samples('oddswatch_platform_events_last_scrape')).toEqual([]);
  });

  it('judges nothing before 3 previous successful scrapes, then compares with their median', async () => {
    for (let index = 0; index < 3; index += 1) {
      const step = stepOf(await scrapeRedfox());
      expect(step).toMatchObject({ status: 'completed', eventsFound: 10, volumeDrop: null, expectedEvents: null });
    }
    const fourth = stepOf(await scrapeRedfox());
    expect(fourth).toMatchObject({ status: 'completed', eventsFound: 10, volumeDrop: false, expectedEvents: 10 });
    expect((await metrics()).value('oddswatch_platform_events_last_scrape', { platform: 'redfox' })).toBe(10);
  });

  it('flags a thin successful scrape on the step, live on the stream, in the history, the metrics and the log', async () => {
    server.platforms.simulated!.set('redfox', { eventsFraction: 0.2 });
    const run = await scrapeRedfox();
    expect(run.status).toBe('completed'); // a green run: only the flag tells
    expect(stepOf(run)).toMatchObject({ status: 'completed', eventsFound: 2, volumeDrop: true, expectedEvents: 10 });

    const completed = await stream.waitForEvent((event) => event.data.type === 'platform.completed' && event.data.runId === run.id);
    expect(completed.data.data).toMatchObject({ platform: 'redfox', eventsFound: 2, volumeDrop: true, expectedEvents: 10 });

    const history = (await (await server.api('/api/platforms/redfox/history')).json()) as PlatformHistory;
    expect(history.items.map((scrape) => scrape.volumeDrop)).toEqual([null, null, null, false, true]);

    const snapshot = await metrics();
    expect(snapshot.value('oddswatch_platform_volume_drops_total', { platform: 'redfox' })).toBe(1);
    expect(snapshot.value('oddswatch_platform_volume_drops_total', { platform: 'northwind' })).toBe(0);
    expect(snapshot.value('oddswatch_platform_events_last_scrape', { platform: 'redfox' })).toBe(2);

    const warning = server.logs.find((line) => line.msg.startsWith('platform volume drop'));
    expect(warning).toMatchObject({ level: 'warn', run_id: run.id, platform: 'redfox', events_found: 2, expected_events: 10 });
  });

  it('does not flag a scrape at exactly the fraction, nor judge a failed one', async () => {
    server.platforms.simulated!.set('redfox', { eventsFraction: 1, pages: 1 });
    // Previous successful scrapes 10, 10, 10, 10, 2: median 10; 5 is not below 0.5 x 10.
    expect(stepOf(await scrapeRedfox())).toMatchObject({ eventsFound: 5, volumeDrop: false, expectedEvents: 10 });
    server.platforms.simulated!.set('redfox', { failureRate: 1 });
    const failed = stepOf(await scrapeRedfox());
    server.platforms.simulated!.set('redfox', { failureRate: 0 });
    expect(failed).toMatchObject({ status: 'failed', volumeDrop: null, expectedEvents: null });
    expect((await metrics()).value('oddswatch_platform_events_last_scrape', { platform: 'redfox' })).toBe(5);
  });

  it('keeps the last-scrape gauge across a restart and honours VOLUME_DROP_WINDOW', async () => {
    await server.close();
    server = await startTestServer({ VOLUME_DROP_WINDOW: '3' }, db);
    stream.close();
    stream = await connectSse(`${server.url}/api/events`);
    const snapshot = await metrics();
    expect(snapshot.samples('oddswatch_platform_events_last_scrape')).toEqual([{ labels: { platform: 'redfox' }, value: 5 }]);
    expect(snapshot.value('oddswatch_platform_volume_drops_total', { platform: 'redfox' })).toBe(0);

    // The last 3 successful scrapes found 10, 2 and 5 (median 5): 4 events is no drop, though it
    // would be against the last 10 (median 10).
    server.platforms.simulated!.set('redfox', { eventsFraction: 0.4 }); // 2 pages of round(5 x 0.4) = 2
    expect(stepOf(await scrapeRedfox())).toMatchObject({ eventsFound: 4, volumeDrop: false, expectedEvents: 5 });
  });
});

describe('through the README start path (built service, SIM_FEEDS)', () => {
  async function scrape(service: ChildService): Promise<RunDetail> {
    const response = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["redfox"]}' });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as RunDetail;
    return waitFor(
      async () => {
        const run = (await (await fetch(`${service.url}/api/runs/${id}`)).json()) as RunDetail;
        return run.status === 'completed' ? run : undefined;
      },
      { timeoutMs: 15_000, what: `run ${id} to complete` },
    );
  }

  it('`eventsFraction` makes a silent feed that is flagged, and the last-scrape gauge survives the restart', async () => {
    const database = await createTestDatabase();
    let service: ChildService | undefined;
    try {
      service = await spawnService({ DATABASE_URL: database.url, SIM_FEEDS: FAST_FEEDS });
      for (let index = 0; index < 3; index += 1) await scrape(service);
      await service.stop();

      const thinFeeds = JSON.stringify({ ...(JSON.parse(FAST_FEEDS) as object), redfox: { eventsFraction: 0.2 } });
      service = await spawnService({ DATABASE_URL: database.url, SIM_FEEDS: thinFeeds });
      const restarted = await MetricsSnapshot.scrape(`${service.url}/metrics`);
      expect(restarted.value('oddswatch_platform_events_last_scrape', { platform: 'redfox' })).toBe(10);

      const run = await scrape(service);
      expect(stepOf(run)).toMatchObject({ eventsFound: 2, volumeDrop: true, expectedEvents: 10 });
      const after = await MetricsSnapshot.scrape(`${service.url}/metrics`);
      expect(after.value('oddswatch_platform_events_last_scrape', { platform: 'redfox' })).toBe(2);
      expect(after.value('oddswatch_platform_volume_drops_total', { platform: 'redfox' })).toBe(1);
      const warning = service.logs.find((line) => line.msg.startsWith('platform volume drop'));
      expect(warning).toMatchObject({ level: 'warn', run_id: run.id, platform: 'redfox' });
      expect(warning?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await service?.stop();
      await database.drop();
    }
  }, 120_000);
});
