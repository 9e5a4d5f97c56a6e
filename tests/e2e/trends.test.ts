import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformHistory, RunDetail, RunHistory } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, setFeeds, testId, waitConnected, waitDashboardLoaded, waitFor } from './support.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  // Long enough for the browser platforms' pages on a cold, busy Chromium.
  server = await startTestServer({ PLATFORM_TIMEOUT_MS: '10000' });
  browser = await launchBrowser();
  // Three runs; redfox fails the second one.
  for (const failing of [false, true, false]) {
    setFeeds(server, { latencyMs: 10, pages: 2, eventsPerPage: 4, failureRate: 0, hang: false }, failing ? { redfox: { failureRate: 1 } } : {});
    const response = await server.api('/api/runs', { method: 'POST', json: {} });
    await server.waitForRun(((await response.json()) as RunDetail).id, ['completed', 'partial'], 30_000);
  }
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const history = async (name: string) => ((await (await server.api(`/api/platforms/${name}/history`)).json()) as PlatformHistory).items;

describe('bookmaker trends', () => {
  it("a bookmaker's page draws one point per scrape in each chart, failures as crosses, and a new scrape adds a point live", async () => {
    const scrapes = await history('redfox');
    expect(scrapes.map((s) => s.outcome)).toEqual(['completed', 'failed', 'completed']);
    const tab = await openTab(browser, server.url, '/platforms/redfox');
    try {
      await waitConnected(tab.page);
      for (const chart of ['platform-duration-chart', 'platform-events-chart']) {
        const points = testId(tab.page, chart).locator('[data-testid="chart-point"]');
        await waitFor(async () => (await points.count()) === 3 || undefined, { timeoutMs: 10_000, what: `${chart} with 3 points` });
        expect(await points.evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-id')), e.getAttribute('data-kind')]))).toEqual(
          scrapes.map((s) => [s.runId, s.outcome === 'completed' ? 'ok' : 'failed']),
        );
        // A failure is a distinct shape (a cross), not only a colour.
        expect(await points.nth(1).locator('path.cross').count()).toBe(1);
        expect(await points.nth(0).locator('circle').count()).toBe(1);
        expect(await testId(tab.page, chart).locator('svg[role="img"]').getAttribute('aria-label')).toMatch(/last 3: .*1 failure/);
      }
      expect(await testId(tab.page, 'platform-scrape').count()).toBe(3);
      expect(await tab.page.locator('[data-testid="platform-scrape"][data-outcome="failed"]').textContent()).toContain('✕ failed');

      await tab.page.evaluate('window.__notReloaded = true');
      const response = await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } });
      const run = (await response.json()) as RunDetail;
      await server.waitForRun(run.id, ['completed'], 20_000);
      const points = testId(tab.page, 'platform-duration-chart').locator('[data-testid="chart-point"]');
      await waitFor(async () => (await points.count()) === 4 || undefined, { timeoutMs: 10_000, what: 'a fourth point' });
      expect(await points.last().getAttribute('data-id')).toBe(String(run.id));
      expect(await tab.page.evaluate('window.__notReloaded === true')).toBe(true);
      expect((await history('redfox')).length).toBe(4);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 60_000);

  it('the bookmakers card draws a sparkline per bookmaker with one point per scrape, linking to its page', async () => {
    const tab = await openTab(browser, server.url, '/');
    try {
      await waitDashboardLoaded(tab.page);
      for (const name of server.platforms.names) {
        const expected = (await history(name)).length;
        const sparks = tab.page.locator(`[data-testid="platform-info"][data-platform="${name}"] [data-testid="trend-chart"]`);
        await waitFor(async () => ((await sparks.count()) === 2 && (await sparks.first().locator('[data-testid="chart-point"]').count()) === expected) || undefined, {
          timeoutMs: 10_000,
          what: `${name} sparklines with ${expected} points`,
        });
        expect(await sparks.nth(1).locator('[data-testid="chart-point"]').count()).toBe(expected);
      }
      await tab.page.locator('[data-testid="platform-info"][data-platform="redfox"] [data-testid="platform-link"]').click();
      await tab.page.waitForURL(/\/platforms\/redfox$/);
      await testId(tab.page, 'platform-duration-chart').waitFor({ timeout: 5_000 });
    } finally {
      await tab.close();
    }
  }, 60_000);

  it('the runs page draws run duration and outcome, one point per finished run', async () => {
    const runs = ((await (await server.api('/api/runs/history')).json()) as RunHistory).items;
    const tab = await openTab(browser, server.url, '/runs');
    try {
      const points = testId(tab.page, 'runs-trend').locator('[data-testid="chart-point"]');
      await waitFor(async () => (await points.count()) === runs.length || undefined, { timeoutMs: 10_000, what: `${runs.length} run points` });
      expect(await points.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')))).toEqual(
        runs.map((r) => (r.status === 'completed' ? 'ok' : r.status === 'partial' ? 'warn' : 'failed')),
      );
      expect(runs.some((r) => r.status === 'partial')).toBe(true);
    } finally {
      await tab.close();
    }
  }, 60_000);
});
