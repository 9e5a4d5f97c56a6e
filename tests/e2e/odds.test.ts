import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OddsPage, RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, screenshot, setFeeds, testId, waitConnected, waitFor } from './support.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function runAll(): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: {} });
  expect(response.status).toBe(202);
  return server.waitForRun(((await response.json()) as RunDetail).id, ['completed'], 30_000);
}

interface Cell {
  event: string;
  market: string;
  selection: string;
  platform: string;
  price: number;
  best: boolean;
  movement: string;
  text: string;
}

/** Every price cell the page shows. */
const cells = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll('[data-testid="odds-price"]')].map((td) => {
    const row = td.closest('tr');
    return { event: td.closest('tbody').dataset.eventKey, market: row.dataset.market, selection: row.dataset.selection, platform: td.dataset.platform,
      price: Number(td.dataset.price), best: td.dataset.best === 'true', movement: td.dataset.movement, text: td.textContent };
  })`) as Promise<Cell[]>;

/** The same cells from the API (one page of 50 sporting events, the most a page holds, covers the simulated 10). */
async function apiCells(): Promise<Map<string, { price: number; best: boolean; movement: string }>> {
  const page = (await (await server.api('/api/odds?limit=50')).json()) as OddsPage;
  const map = new Map<string, { price: number; best: boolean; movement: string }>();
  for (const event of page.items)
    for (const market of event.markets)
      for (const selection of market.selections)
        for (const p of selection.prices) map.set(`${event.eventKey}/${market.name}/${selection.name}/${p.platform}`, p);
  return map;
}
const keyOf = (c: Cell) => `${c.event}/${c.market}/${c.selection}/${c.platform}`;

describe('odds page', () => {
  beforeAll(() => runAll(), 60_000);

  it('shows the prices after a run with the best price starred, then updates live when a run completes, fetching one bookmaker at a time', async () => {
    const tab = await openTab(browser, server.url, '/odds');
    try {
      await waitConnected(tab.page);
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const expected = await apiCells();
      const shown = await cells(tab.page);
      expect(shown).toHaveLength(expected.size);
      expect(shown.length).toBe(10 * 5 * 6);
      for (const c of shown) {
        const want = expected.get(keyOf(c))!;
        expect(c.price, keyOf(c)).toBe(want.price);
        expect(c.best, keyOf(c)).toBe(want.best);
        expect(c.movement).toBe('new');
        // Best is said in text (a star and "best price" for screen readers), not by colour alone.
        expect(c.text.includes('★') && c.text.includes('best price'), keyOf(c)).toBe(c.best);
      }
      // Every selection has a best price, and it is the highest shown.
      const bySelection = new Map<string, Cell[]>();
      for (const c of shown) bySelection.set(`${c.event}/${c.market}/${c.selection}`, [...(bySelection.get(`${c.event}/${c.market}/${c.selection}`) ?? []), c]);
      for (const [key, row] of bySelection) {
        const max = Math.max(...row.map((c) => c.price));
        expect(row.filter((c) => c.best).map((c) => c.price), key).not.toHaveLength(0);
        for (const c of row.filter((x) => x.best)) expect(c.price).toBe(max);
      }

      // Live: a second run (prices drift) completes; the page follows without a reload.
      await tab.page.evaluate('window.__notReloaded = true');
      const oddsRequests: string[] = [];
      tab.page.on('request', (r) => {
        const url = new URL(r.url());
        if (url.pathname === '/api/odds') oddsRequests.push(url.search);
      });
      await runAll();
      const after = await apiCells();
      const moved = [...after.entries()].filter(([, p]) => p.movement === 'up' || p.movement === 'down');
      expect(moved.length).toBeGreaterThan(0);
      await waitFor(async () => {
        const now = await cells(tab.page);
        return now.every((c) => after.get(keyOf(c))?.price === c.price && after.get(keyOf(c))?.best === c.best && after.get(keyOf(c))?.movement === c.movement) || undefined;
      }, { timeoutMs: 10_000, what: 'the odds page to show the second run prices' });
      expect(await tab.page.evaluate('window.__notReloaded === true')).toBe(true);
      const arrows = await tab.page.locator('[data-testid="odds-price"][data-movement="up"]').first().textContent();
      expect(arrows).toMatch(/▲.*up from \d+\.\d\d/s);
      // One request per bookmaker that finished, each for that bookmaker only: never the whole table.
      console.log(`odds requests during the second run: ${oddsRequests.join(' ')}`);
      expect(oddsRequests.length).toBeGreaterThan(0);
      expect(oddsRequests.length).toBeLessThanOrEqual(6);
      for (const search of oddsRequests) expect(search).toMatch(/platform=\w+/);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 90_000);

  it('keeps its search and bookmaker filter across a reload', async () => {
    const tab = await openTab(browser, server.url, '/odds');
    try {
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const word = 'Arsenal';
      await testId(tab.page, 'odds-search').fill(word);
      await tab.page.waitForURL(/q=Arsenal/, { timeout: 5_000 });
      await testId(tab.page, 'odds-bookmaker').selectOption('luckyowl');
      await tab.page.waitForURL(/bookmaker=luckyowl/, { timeout: 5_000 });

      const check = async () => {
        await waitFor(async () => {
          const shown = await cells(tab.page);
          return (shown.length > 0 && shown.every((c) => c.platform === 'luckyowl')) || undefined;
        }, { timeoutMs: 10_000, what: 'only luckyowl prices' });
        const names = await tab.page.locator('[data-testid="odds-event"] .event-row th').allTextContents();
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(name, tab.page.url()).toContain(word);
        expect(await testId(tab.page, 'odds-bookmaker-col').count()).toBe(1);
      };
      await check();
      await tab.page.reload();
      expect(await testId(tab.page, 'odds-search').inputValue()).toBe(word);
      expect(await testId(tab.page, 'odds-bookmaker').inputValue()).toBe('luckyowl');
      await check();
      await screenshot(tab.page, 'odds-search-1280');
      await tab.page.setViewportSize({ width: 390, height: 844 });
      await check();
      await screenshot(tab.page, 'odds-search-390');
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 60_000);

  it('stays usable at 390 px: the bookmaker columns scroll sideways inside the table, not the page', async () => {
    const tab = await openTab(browser, server.url, '/odds', { width: 390, height: 844 });
    try {
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const sizes = (await tab.page.evaluate(`(() => {
        const wrap = document.querySelector('.odds-wrap');
        return { page: document.documentElement.scrollWidth, wrap: wrap.clientWidth, table: wrap.scrollWidth };
      })()`)) as { page: number; wrap: number; table: number };
      const wide = await tab.page.evaluate(`(() => { const out = []; for (let e = document.querySelector('.odds-wrap'); e; e = e.parentElement) out.push(e.tagName + '.' + e.className + ':' + e.getBoundingClientRect().width); return out; })()`);
      expect(sizes.page, JSON.stringify(wide)).toBeLessThanOrEqual(390);
      expect(sizes.table).toBeGreaterThan(sizes.wrap);
      // The selection column stays in view while the bookmaker columns scroll.
      await tab.page.evaluate(`document.querySelector('.odds-wrap').scrollLeft = 400`);
      const left = (await tab.page.evaluate(`document.querySelector('tbody tr[data-testid="odds-selection"] th').getBoundingClientRect().left`)) as number;
      expect(left).toBeGreaterThanOrEqual(0);
      expect(left).toBeLessThan(60);
    } finally {
      await tab.close();
    }
  }, 60_000);

  it("greys a stale bookmaker's prices with their age once it has had no successful scrape for over three scrape intervals, as the API says", async () => {
    const patch = await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 10 } });
    expect(patch.status).toBe(200);
    const lastSuccess = Date.now();
    // Past three intervals (30 s), a run where redfox fails: redfox is stale, the others have just succeeded.
    await new Promise((resolve) => setTimeout(resolve, 31_000 - (Date.now() - lastSuccess)));
    setFeeds(server, { failureRate: 0 }, { redfox: { failureRate: 1 } });
    const response = await server.api('/api/runs', { method: 'POST', json: {} });
    await server.waitForRun(((await response.json()) as RunDetail).id, ['partial'], 30_000);
    const tab = await openTab(browser, server.url, '/odds');
    try {
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const shown = await cells(tab.page);
      const stale = (await tab.page.evaluate(`[...document.querySelectorAll('[data-testid="odds-price"][data-stale="true"]')].map((td) => td.dataset.platform)`)) as string[];
      expect(new Set(stale)).toEqual(new Set(['redfox']));
      expect(stale.length).toBe(shown.filter((c) => c.platform === 'redfox').length);
      const redfox = tab.page.locator('[data-testid="odds-price"][data-platform="redfox"]').first();
      // The price shows its age; the bookmaker, not the price, is stale (its column says so, with its last success).
      expect(await redfox.locator('[data-testid="odds-age"]').textContent()).toMatch(/^, scraped \d+s ago$/);
      const header = tab.page.locator('[data-testid="odds-bookmaker-col"][data-platform="redfox"]');
      expect(await header.textContent()).toContain('stale');
      expect(await header.locator('[data-testid="odds-last-success"]').textContent()).toMatch(/^last success \d+s ago$/);
      // The same verdict as the API's.
      const api = (await (await server.api('/api/odds?limit=1')).json()) as OddsPage;
      expect(api.bookmakers.filter((bookmaker) => bookmaker.stale).map((bookmaker) => bookmaker.platform)).toEqual(['redfox']);
      const colourOf = (platform: string) =>
        tab.page.evaluate(`getComputedStyle(document.querySelector('[data-testid="odds-price"][data-platform="${platform}"]')).color`) as Promise<string>;
      const colour = await colourOf('redfox');
      const fresh = await colourOf('northwind');
      expect(colour).not.toBe(fresh);
      await screenshot(tab.page, 'odds-stale-redfox-1280');
    } finally {
      await tab.close();
    }
  }, 90_000);
});
