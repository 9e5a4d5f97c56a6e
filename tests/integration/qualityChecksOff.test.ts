import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformInfo, RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * QUALITY_CHECKS=false turns every data-quality check off: misread prices are scraped and stored, and
 * nothing is judged, counted or shown (null, not 0: unchecked is not clean).
 */

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ QUALITY_CHECKS: 'false' }, db);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('QUALITY_CHECKS=false', () => {
  it('stores the prices and judges none of them: null on the step and the platform, nothing counted, no bookmaker rows', async () => {
    server.platforms.simulated!.set('redfox', { fractionalMisread: true });
    for (let index = 0; index < 2; index += 1) {
      const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox', 'luckyowl'] } })).json()) as RunDetail;
      const run = await server.waitForRun(created.id, ['completed']);
      for (const step of run.steps) {
        expect(step.eventsFound, step.platform).toBeGreaterThan(0);
        expect(step, step.platform).toMatchObject({ implausibleMarkets: null, implausibleExamples: [], frozenBookmakers: null, coverageDrops: null, outlierPrices: null });
      }
    }
    const { items } = (await (await server.api('/api/platforms')).json()) as { items: PlatformInfo[] };
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((item) => item.quality === null)).toBe(true);
    const stored = await server.db.query<{ n: number }>(`select count(*)::int as n from odds where platform = 'redfox'`);
    expect(stored[0]!.n).toBeGreaterThan(0);
    expect(await server.db.query(`select * from bookmaker_quality`)).toEqual([]);
    const snapshot = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    expect(snapshot.samples('oddswatch_platform_markets_checked_total').length).toBeGreaterThan(0);
    expect(snapshot.samples('oddswatch_platform_markets_checked_total').every((sample) => sample.value === 0)).toBe(true);
    expect(snapshot.samples('oddswatch_platform_implausible_markets_total').every((sample) => sample.value === 0)).toBe(true);
  });
});
