import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformHistory, PlatformInfo, RunDetail, RunPage } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import path from 'node:path';
import { ensureBuilt, launchBrowser, openTab, screenshot, SCREENSHOT_DIR, setFeeds, testId, waitConnected, waitDashboardLoaded, waitFor } from './support.js';

/**
 * "Which bookmaker is failing and why" on the real pages, and charts that can be read: axes, and a value on
 * hover and on keyboard focus. Screenshots: test-artifacts/screenshots/health-*.png.
 */
let server: TestServer;
let browser: Browser;

const FEEDS = { latencyMs: 10, pages: 2, eventsPerPage: 4, failureRate: 0, hang: false };

async function runWith(failing: Record<string, { failureRate: number }>, platforms?: string[]): Promise<RunDetail> {
  setFeeds(server, FEEDS, failing);
  const response = await server.api('/api/runs', { method: 'POST', json: platforms ? { platforms } : {} });
  return server.waitForRun(((await response.json()) as RunDetail).id, ['completed', 'partial', 'failed'], 30_000);
}

beforeAll(async () => {
  ensureBuilt();
  // Long enough for the browser platforms' pages on a cold, busy Chromium.
  server = await startTestServer({ PLATFORM_TIMEOUT_MS: '10000' });
  browser = await launchBrowser();
  // Four runs: redfox fails the second and the fourth, luckyowl the fourth too.
  await runWith({});
  await runWith({ redfox: { failureRate: 1 } });
  await runWith({});
  await runWith({ redfox: { failureRate: 1 }, luckyowl: { failureRate: 1 } });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const platformsNow = async () => ((await (await server.api('/api/platforms')).json()) as { items: PlatformInfo[] }).items;
const row = (page: Page, name: string) => page.locator(`[data-testid="platform-info"][data-platform="${name}"]`);

describe('which bookmaker is failing and why', () => {
  it('the dashboard shows each bookmaker failure rate and last error, and each run row the platforms that failed; both stay live', async () => {
    const platforms = await platformsNow();
    const redfox = platforms.find((p) => p.name === 'redfox')!;
    expect(redfox).toMatchObject({ recentFailures: 2, failureRate: 0.5 });
    for (const width of [1280, 390]) {
      const tab = await openTab(browser, server.url, '/', { width, height: width === 1280 ? 900 : 844 });
      try {
        await waitDashboardLoaded(tab.page);
        await row(tab.page, 'redfox').locator('[data-testid="trend-chart"] [data-testid="chart-point"]').first().waitFor({ timeout: 10_000 });
        expect(await row(tab.page, 'redfox').locator('[data-testid="platform-failure-rate"]').textContent()).toContain('2 of last 4 scrapes failed (50%)');
        expect(await row(tab.page, 'redfox').locator('[data-testid="platform-last-error"]').textContent()).toContain(redfox.lastError!.message);
        expect(redfox.lastError!.reason).toBe('http_5xx'); // the simulated feed's failure: HTTP 503
        expect(await row(tab.page, 'redfox').locator('[data-testid="platform-last-error-reason"]').textContent()).toBe('HTTP 5xx');
        expect(await row(tab.page, 'northwind').locator('[data-testid="platform-failure-rate"]').textContent()).toContain('0 of last 4 scrapes failed (0%)');
        expect(await row(tab.page, 'northwind').locator('[data-testid="platform-last-error"]').count()).toBe(0);

        const runs = ((await (await server.api('/api/runs')).json()) as RunPage).items;
        const rows = testId(tab.page, 'run-row');
        expect(await rows.count()).toBe(runs.length);
        for (const [index, run] of runs.entries()) {
          expect(await rows.nth(index).locator('[data-testid="run-row-failed"]').getAttribute('data-platforms')).toBe(run.failedPlatforms.join(','));
        }
        expect(runs[0]!.failedPlatforms).toEqual(['luckyowl', 'redfox']);
        expect(await rows.first().locator('[data-testid="run-row-failed"]').textContent()).toMatch(/luckyowl,\s*redfox/);
        await screenshot(tab.page, `health-dashboard-${width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }

    // Live: a run where bluepeak fails updates its rate and last error and adds the row, with no REST read.
    const tab = await openTab(browser, server.url, '/');
    try {
      await waitDashboardLoaded(tab.page);
      await row(tab.page, 'bluepeak').locator('[data-testid="chart-point"]').first().waitFor({ timeout: 10_000 });
      const reads: string[] = [];
      tab.page.on('request', (request) => {
        const pathname = new URL(request.url()).pathname;
        if (pathname.startsWith('/api/platforms') || pathname === '/api/runs') reads.push(pathname);
      });
      const run = await runWith({ bluepeak: { failureRate: 1 } });
      const bluepeak = (await platformsNow()).find((p) => p.name === 'bluepeak')!;
      await waitFor(async () => ((await row(tab.page, 'bluepeak').locator('[data-testid="platform-failure-rate"]').textContent()) ?? '').includes('1 of last 5 scrapes failed (20%)') || undefined, {
        timeoutMs: 10_000,
        what: 'bluepeak at 1 of last 5',
      });
      expect(await row(tab.page, 'bluepeak').locator('[data-testid="platform-last-error"]').textContent()).toContain(bluepeak.lastError!.message);
      expect(await row(tab.page, 'bluepeak').locator('[data-testid="platform-last-error"]').getAttribute('data-run-id')).toBe(String(run.id));
      await waitFor(async () => (await testId(tab.page, 'run-row').first().getAttribute('data-run-id')) === String(run.id) || undefined, { timeoutMs: 10_000, what: 'the new run row' });
      expect(await testId(tab.page, 'run-row').first().locator('[data-testid="run-row-failed"]').getAttribute('data-platforms')).toBe('bluepeak');
      expect(reads).toEqual([]);

      // A failed platform's name leads to its page.
      await testId(tab.page, 'run-row').first().locator('[data-testid="run-row-failed"] a').first().click();
      await tab.page.waitForURL(/\/platforms\/bluepeak$/);
      await testId(tab.page, 'platform-last-error').waitFor({ timeout: 5_000 });
    } finally {
      await tab.close();
    }
  }, 120_000);

  it('the bookmaker page shows the failure rate, the last error with its run, and each failed scrape error', async () => {
    const history = (await (await server.api('/api/platforms/redfox/history')).json()) as PlatformHistory;
    for (const width of [1280, 390]) {
      const tab = await openTab(browser, server.url, '/platforms/redfox', { width, height: width === 1280 ? 900 : 844 });
      try {
        await waitConnected(tab.page);
        await testId(tab.page, 'platform-scrape').first().waitFor({ timeout: 10_000 });
        expect(await testId(tab.page, 'platform-failure-rate').textContent()).toContain(`${history.recentFailures} of last ${history.recentOutcomes.length} scrapes failed`);
        const lastError = testId(tab.page, 'platform-last-error');
        expect(await lastError.textContent()).toContain(history.lastError!.message);
        expect(await lastError.locator('a').getAttribute('href')).toBe(`/runs/${history.lastError!.runId}`);
        expect((await lastError.locator('[data-testid="platform-last-error-reason"]').textContent())?.trim()).toBe('Reason: HTTP 5xx');
        const errors = await testId(tab.page, 'platform-scrape-error').allTextContents();
        expect(errors.map((e) => e.trim())).toEqual([...history.items].reverse().map((s) => s.error ?? ''));
        await screenshot(tab.page, `health-bookmaker-${width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  }, 60_000);
});

describe('charts that can be read', () => {
  it('a bookmaker chart labels its value and time axes and shows a point value on hover and with the arrow keys', async () => {
    const history = (await (await server.api('/api/platforms/redfox/history')).json()) as PlatformHistory;
    const tab = await openTab(browser, server.url, '/platforms/redfox');
    try {
      await waitConnected(tab.page);
      const chart = testId(tab.page, 'platform-duration-chart');
      const points = chart.locator('[data-testid="chart-point"]');
      await waitFor(async () => (await points.count()) === history.items.length || undefined, { timeoutMs: 10_000, what: 'the points' });
      const max = Math.max(...history.items.map((s) => s.durationMs ?? 0));
      expect(await chart.locator('[data-testid="chart-axis-max"]').textContent()).toMatch(/\d/);
      expect(max).toBeGreaterThan(0);
      expect(await chart.locator('[data-testid="chart-axis-start"]').textContent()).toMatch(/\d:\d\d:\d\d/);
      expect(await chart.locator('[data-testid="chart-axis-end"]').textContent()).toMatch(/\d:\d\d:\d\d/);

      // Hover: the point under the pointer shows its run, time, value and outcome.
      // Aimed again at each try: a live update may redraw the chart between reading the point's box and the move.
      const second = points.nth(1);
      const tip = chart.locator('[data-testid="chart-tip"]');
      await waitFor(
        async () => {
          const box = (await second.boundingBox())!;
          await tab.page.mouse.move(0, 0);
          await tab.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
          return (await tip.waitFor({ timeout: 1_000 }).then(() => true, () => false)) || undefined;
        },
        { timeoutMs: 6_000, intervalMs: 50, what: "the hovered point's tip" },
      );
      expect(await tip.getAttribute('data-id')).toBe(String(history.items[1]!.runId));
      expect(await tip.textContent()).toContain(`Run #${history.items[1]!.runId}`);
      expect(await tip.textContent()).toContain('failed');
      await screenshot(tab.page, 'health-bookmaker-hover-1280');
      await tab.page.mouse.move(0, 0);
      await tip.waitFor({ state: 'detached', timeout: 2_000 });

      // Keyboard: focus starts at the newest point; arrows and Home move; the live region reads it.
      const svg = chart.locator('svg[role="img"]');
      await svg.focus();
      expect(await tip.getAttribute('data-id')).toBe(String(history.items.at(-1)!.runId));
      await tab.page.keyboard.press('ArrowLeft');
      expect(await tip.getAttribute('data-id')).toBe(String(history.items.at(-2)!.runId));
      await tab.page.keyboard.press('Home');
      expect(await tip.getAttribute('data-id')).toBe(String(history.items[0]!.runId));
      expect(await chart.locator('[aria-live="polite"]').textContent()).toContain(`Run #${history.items[0]!.runId}`);
      await screenshot(tab.page, 'health-bookmaker-focus-1280');
      await tab.page.keyboard.press('Tab');
      await tip.waitFor({ state: 'detached', timeout: 2_000 });
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 60_000);

  it('a sparkline labels its maximum and time span and reads a point out on focus; the runs chart has a time axis too', async () => {
    const tab = await openTab(browser, server.url, '/', { width: 390, height: 844 });
    try {
      await waitDashboardLoaded(tab.page);
      const spark = row(tab.page, 'redfox').locator('.trend-box').first();
      await spark.locator('[data-testid="chart-point"]').first().waitFor({ timeout: 10_000 });
      expect(await spark.locator('[data-testid="chart-axis-max"]').textContent()).toMatch(/^max \d/);
      expect(await spark.locator('[data-testid="chart-axis-start"]').textContent()).toMatch(/\d\d:\d\d/);
      await spark.locator('svg[role="img"]').focus();
      await tab.page.keyboard.press('End');
      const readout = spark.locator('[data-testid="chart-tip"]');
      expect(await readout.textContent()).toMatch(/\d:\d\d:\d\d.* · \d/);
      // The bookmaker's row alone, to look at the readout.
      await row(tab.page, 'redfox').screenshot({ path: path.join(SCREENSHOT_DIR, 'health-sparkline-focus-390.png'), animations: 'disabled' });

      await tab.page.goto('/runs');
      const trend = testId(tab.page, 'runs-trend');
      await trend.locator('[data-testid="chart-point"]').first().waitFor({ timeout: 10_000 });
      expect(await trend.locator('[data-testid="chart-axis-end"]').textContent()).toMatch(/\d\d:\d\d/);
      await trend.locator('svg[role="img"]').focus();
      expect(await trend.locator('[data-testid="chart-tip"]').textContent()).toMatch(/Run #\d+/);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 60_000);
});
