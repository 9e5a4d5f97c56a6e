import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OddsPage, RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const db = await createTestDatabase();
const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-freshness-'));
let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const FRESHNESS = 'oddswatch_platform_last_success_timestamp_seconds';

async function odds(query = ''): Promise<OddsPage> {
  const response = await server!.api(`/api/odds${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as OddsPage;
}

describe('platform freshness', () => {
  it('survives a restart: the last-success gauge is initialised from the database', async () => {
    server = await startTestServer({}, db);
    const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['silverstake', 'northwind'] } })).json()) as RunDetail;
    const run = await server.waitForRun(created.id, ['completed']);
    await server.close();

    server = await startTestServer({}, db);
    const metrics = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    const silverstake = run.steps.find((step) => step.platform === 'silverstake')!;
    const seconds = metrics.value(FRESHNESS, { platform: 'silverstake' });
    expect(Math.abs(seconds - Date.parse(silverstake.finishedAt!) / 1000)).toBeLessThan(1);
    expect(metrics.samples(FRESHNESS).map((sample) => sample.labels.platform).sort()).toEqual(['northwind', 'silverstake']);
    await server.close();
  });

  it('is exported for configured platforms only: a platform removed from PLATFORMS_FILE has no series at all', async () => {
    // The database holds successful scrapes of silverstake and northwind (above); silverstake is no longer configured.
    const file = path.join(dir, 'platforms.json');
    writeFileSync(file, JSON.stringify([{ name: 'northwind', baseUrl: 'http://127.0.0.1:9/v1' }]));
    server = await startTestServer({ PLATFORMS_FILE: file }, db);
    const metrics = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    expect(metrics.samples(FRESHNESS).map((sample) => sample.labels.platform)).toEqual(['northwind']);
    expect(metrics.text).not.toContain('platform="silverstake"');
    // Nor does the API speak of it.
    expect((await odds()).bookmakers.map((bookmaker) => bookmaker.platform)).toEqual(['northwind']);
    await server.close();
    server = undefined;
  });
});

describe('oddswatch_scrape_interval_seconds', () => {
  it("is the scrape job's current interval: SCRAPE_INTERVAL_SECONDS, then what PATCH sets, also while paused", async () => {
    server = await startTestServer({ SCRAPE_INTERVAL_SECONDS: '300' }, db);
    const interval = async () => (await MetricsSnapshot.scrape(`${server!.url}/metrics`)).samples('oddswatch_scrape_interval_seconds');
    expect(await interval()).toEqual([{ labels: {}, value: 300 }]);

    const patched = await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 3600 } });
    expect(patched.status).toBe(200);
    expect(await interval()).toEqual([{ labels: {}, value: 3600 }]);
    // The watchdog's interval is another job's: it does not move the scrape interval.
    expect((await server.api('/api/scheduler/jobs/detect_stale_runs', { method: 'PATCH', json: { intervalSeconds: 60 } })).status).toBe(200);
    expect(await interval()).toEqual([{ labels: {}, value: 3600 }]);

    expect((await server.api('/api/scheduler/pause', { method: 'POST' })).status).toBe(200);
    expect(await interval()).toEqual([{ labels: {}, value: 3600 }]);
    expect((await server.api('/api/scheduler/resume', { method: 'POST' })).status).toBe(200);
    await server.close();

    // The interval set through the API is stored: after a restart the gauge still says it.
    server = await startTestServer({ SCRAPE_INTERVAL_SECONDS: '300' }, db);
    expect(await interval()).toEqual([{ labels: {}, value: 3600 }]);
    await server.close();
    server = undefined;
  });
});

describe('GET /api/odds staleness', () => {
  it('flags a bookmaker stale from its last successful scrape and the current interval, whatever the age of its prices', async () => {
    const fresh = await createTestDatabase();
    try {
      server = await startTestServer({ SCRAPE_INTERVAL_SECONDS: '300' }, fresh);
      const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox', 'northwind'] } })).json()) as RunDetail;
      await server.waitForRun(created.id, ['completed']);
      // redfox's last success was 901 s ago (3 intervals of 300 s and a second); its prices were written just now.
      await fresh.query(`update platform_steps set started_at = now() - interval '902 seconds', finished_at = now() - interval '901 seconds' where platform = 'redfox'`);

      const page = await odds('?limit=50');
      expect(page.scrapeIntervalSeconds).toBe(300);
      expect(page.staleAfterSeconds).toBe(900);
      expect(page.bookmakers.map((bookmaker) => bookmaker.platform)).toEqual(server.platforms.names);
      const of = (name: string, from = page) => from.bookmakers.find((bookmaker) => bookmaker.platform === name)!;
      expect(of('redfox').stale).toBe(true);
      const lastSuccess = Date.parse(of('redfox').lastSuccessAt!);
      expect(Math.abs(Date.now() - 901_000 - lastSuccess)).toBeLessThan(5_000);
      expect(Date.parse(of('redfox').staleAt!)).toBe(lastSuccess + 900_000);
      // A price's age is not staleness: redfox's prices are seconds old.
      const redfoxPrices = page.items.flatMap((event) => event.markets.flatMap((market) => market.selections.flatMap((selection) => selection.prices))).filter((price) => price.platform === 'redfox');
      expect(redfoxPrices.length).toBeGreaterThan(0);
      for (const price of redfoxPrices) expect(Date.now() - Date.parse(price.scrapedAt)).toBeLessThan(60_000);
      expect(of('northwind')).toMatchObject({ stale: false });
      expect(Date.parse(of('northwind').staleAt!) - Date.parse(of('northwind').lastSuccessAt!)).toBe(900_000);
      // Never scraped successfully: not stale (nothing to age), and said so by a null lastSuccessAt.
      expect(of('bluepeak')).toEqual({ platform: 'bluepeak', lastSuccessAt: null, stale: false, staleAt: null });

      // One bookmaker's page covers that bookmaker only.
      expect((await odds('?platform=redfox')).bookmakers.map((bookmaker) => bookmaker.platform)).toEqual(['redfox']);

      // The threshold follows the scheduler: at 310 s, 3 intervals are 930 s and redfox is not stale yet.
      expect((await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 310 } })).status).toBe(200);
      const later = await odds('?platform=redfox');
      expect(later).toMatchObject({ scrapeIntervalSeconds: 310, staleAfterSeconds: 930 });
      expect(of('redfox', later)).toMatchObject({ stale: false, staleAt: new Date(lastSuccess + 930_000).toISOString() });
      await server.close();
      server = undefined;
    } finally {
      await fresh.drop();
    }
  });
});
