import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, screenshot, seriousViolations, setFeeds, testId, waitConnected, waitDashboardLoaded } from './support.js';

let server: TestServer;
let browser: Browser;
let runId = 0;

beforeAll(async () => {
  ensureBuilt();
  // Long enough for the browser platforms' pages on a cold, busy Chromium.
  server = await startTestServer({ PLATFORM_TIMEOUT_MS: '10000' });
  browser = await launchBrowser();
  // Two runs (prices move between them), redfox failing the second: every page has something to show.
  for (const failing of [false, true]) {
    setFeeds(server, { latencyMs: 10, pages: 2, eventsPerPage: 4, failureRate: 0, hang: false }, failing ? { redfox: { failureRate: 1 } } : {});
    const response = await server.api('/api/runs', { method: 'POST', json: {} });
    runId = ((await response.json()) as RunDetail).id;
    await server.waitForRun(runId, ['completed', 'partial'], 30_000);
  }
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Every page of the dashboard, with what says it has loaded. */
const PAGES: { name: string; path: () => string; ready: (page: Page) => Promise<void> }[] = [
  { name: 'dashboard', path: () => '/', ready: (page) => waitDashboardLoaded(page) },
  { name: 'runs', path: () => '/runs', ready: (page) => testId(page, 'runs-trend').locator('[data-testid="chart-point"]').first().waitFor() },
  { name: 'run-detail', path: () => `/runs/${runId}`, ready: (page) => testId(page, 'run-timeline').waitFor() },
  { name: 'odds', path: () => '/odds', ready: (page) => testId(page, 'odds-price').first().waitFor() },
  { name: 'platforms', path: () => '/platforms', ready: (page) => testId(page, 'platforms-row').first().waitFor() },
  { name: 'bookmaker', path: () => '/platforms/redfox', ready: (page) => testId(page, 'platform-scrape').first().waitFor() },
  { name: 'not-found', path: () => '/no/such/page', ready: (page) => testId(page, 'not-found-view').waitFor() },
  // The in-process server keeps no traces: the trace page's "not held here" state (traceLink.test.ts checks a real trace).
  { name: 'trace-not-held', path: () => '/traces/0af7651916cd43dd8448eb211c80319c', ready: (page) => testId(page, 'trace-not-found').waitFor() },
];

describe('accessibility and screenshots of every page', () => {
  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    it(`axe finds no serious or critical violation at ${viewport.width} px, and each page is captured`, async () => {
      for (const spec of PAGES) {
        const tab = await openTab(browser, server.url, spec.path(), viewport);
        try {
          await waitConnected(tab.page);
          await spec.ready(tab.page);
          const violations = await seriousViolations(tab.page);
          expect(
            violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`),
            spec.name,
          ).toEqual([]);
          // Nothing wider than the screen but the scrollers meant to scroll.
          const wide = await tab.page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => !e.closest('.table-wrap') && e.getBoundingClientRect().right > ${viewport.width} + 1).slice(0, 6).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
          expect(await tab.page.evaluate('document.documentElement.scrollWidth'), `${spec.name} ${JSON.stringify(wide)}`).toBeLessThanOrEqual(viewport.width);
          await screenshot(tab.page, `page-${spec.name}-${viewport.width}`);
          expect(tab.pageErrors).toEqual([]);
        } finally {
          await tab.close();
        }
      }
    }, 120_000);
  }

  /** The testids (or tag and text) focused by pressing Tab `count` times from the top of the page. */
  async function tabOrder(page: Page, count: number): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < count; i++) {
      await page.keyboard.press('Tab');
      seen.push(
        (await page.evaluate(`(() => { const e = document.activeElement; return e.dataset.testid || e.tagName.toLowerCase() + ':' + (e.getAttribute('aria-label') || e.textContent.trim().slice(0, 30)); })()`)) as string,
      );
    }
    return seen;
  }
  const inOrder = (seen: string[], wanted: string[]) => wanted.map((w) => seen.indexOf(w));

  it('keyboard only: the main actions of each page are reached with Tab, in reading order, and work with Enter', async () => {
    const tab = await openTab(browser, server.url, '/');
    try {
      await waitDashboardLoaded(tab.page);
      const dashboard = await tabOrder(tab.page, 40);
      const wanted = ['a:Skip to content', 'nav-dashboard', 'nav-runs', 'nav-odds', 'scrape-now', 'scheduler-edit-interval', 'scheduler-pause', 'scheduler-run-now', 'platform-link'];
      const positions = inOrder(dashboard, wanted);
      expect(positions.every((p) => p >= 0), dashboard.join(' → ')).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);

      // Enter on a focused link navigates: to the odds page, then through its controls.
      await tab.page.locator('[data-testid="nav-odds"]').focus();
      await tab.page.keyboard.press('Enter');
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      await tab.page.locator('[data-testid="nav-platforms"]').focus();
      const odds = await tabOrder(tab.page, 4);
      expect(odds.slice(0, 3)).toEqual(['odds-search', 'odds-platform', 'div:Odds by bookmaker (scrolls sideways)']);
      // The search works from the keyboard alone (typing, then Enter).
      await testId(tab.page, 'odds-search').focus();
      await tab.page.keyboard.type('Celtic');
      await tab.page.keyboard.press('Enter');
      await tab.page.waitForURL(/q=Celtic/, { timeout: 5_000 });
      // The table scrolls sideways from the keyboard once focused.
      const scroller = tab.page.locator('.odds-wrap');
      await scroller.focus();
      await tab.page.keyboard.press('ArrowRight');
      await tab.page.keyboard.press('ArrowRight');
      // (At 1280 px every bookmaker column fits; the region is still focusable for narrow screens.)

      await tab.page.goto('/runs');
      await testId(tab.page, 'runs-view').waitFor();
      const runs = await tabOrder(tab.page, 12);
      expect(inOrder(runs, ['filter-status', 'filter-trigger']).every((p) => p >= 0), runs.join(' → ')).toBe(true);
      expect(runs.some((r) => r.startsWith('a:#'))).toBe(true);

      await tab.page.goto('/platforms/redfox');
      await testId(tab.page, 'platform-scrape').first().waitFor();
      const bookmaker = await tabOrder(tab.page, 12);
      expect(bookmaker.some((r) => r.startsWith('a:#')), bookmaker.join(' → ')).toBe(true);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 90_000);
});
