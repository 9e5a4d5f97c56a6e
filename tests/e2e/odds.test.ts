import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookmakerPrice, OddsPage, RunDetail } from '../../src/shared/contract.js';
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
  bookmaker: string;
  price: number;
  /** The price as the page prints it. */
  shown: string;
  title: string;
  best: boolean;
  movement: string;
  text: string;
}

/** Every price cell the page shows. */
const cells = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll('[data-testid="odds-price"]')].map((td) => {
    const row = td.closest('tr');
    return { event: td.closest('tbody').dataset.eventId, market: row.dataset.market, selection: row.dataset.selection, platform: td.dataset.platform,
      bookmaker: td.dataset.bookmaker, price: Number(td.dataset.price), shown: td.querySelector('[data-testid="odds-price-value"]').textContent,
      title: td.title, best: td.dataset.best === 'true', movement: td.dataset.movement, text: td.textContent };
  })`) as Promise<Cell[]>;

/** The same prices from the API (one page of 50 sporting events, the most a page holds, covers the simulated 10). */
async function apiPage(): Promise<OddsPage> {
  return (await (await server.api('/api/odds?limit=50')).json()) as OddsPage;
}
async function apiCells(): Promise<Map<string, BookmakerPrice>> {
  const map = new Map<string, BookmakerPrice>();
  for (const event of (await apiPage()).items)
    for (const market of event.markets)
      for (const selection of market.selections)
        for (const p of selection.prices) map.set(`${event.id}/${market.name}/${selection.name}/${p.platform}/${p.bookmaker}`, p);
  return map;
}
const keyOf = (c: Cell) => `${c.event}/${c.market}/${c.selection}/${c.platform}/${c.bookmaker}`;

/** The column headers as a user reads them, in order. */
const columnLabels = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll('[data-testid="odds-bookmaker-col"]')].map((th) => th.textContent.replace(/\\s+/g, ' ').trim())`) as Promise<string[]>;

/** Waits until the Odds page shows the answer to its URL (no read in flight), then reads its cells. */
async function settledCells(page: Page): Promise<Cell[]> {
  await testId(page, 'odds-card').and(page.locator('[aria-busy="false"]')).waitFor({ timeout: 10_000 });
  return cells(page);
}

/** The six feeds, oddsline's three bookmakers, quayside, oakridge and the two browser platforms. */
const COLUMNS = ['northwind', 'luckyowl', 'harborline', 'redfox', 'silverstake', 'bluepeak', 'copperbet via oddsline', 'meridian via oddsline', 'tideway via oddsline', 'quayside', 'oakridge', 'kestrel', 'nightjar'];
/** Platforms scraped: one listing each per sporting event. */
const PLATFORM_COUNT = 11;

describe('odds page', () => {
  beforeAll(() => runAll(), 60_000);

  it('shows each bookmaker\'s price per sporting event after a run, with the best price starred, then updates live when a run completes, fetching one platform at a time', async () => {
    const tab = await openTab(browser, server.url, '/odds');
    try {
      await waitConnected(tab.page);
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const page = await apiPage();
      const expected = await apiCells();
      const shown = await settledCells(tab.page);
      // Ten sporting events with five selections each: eight platforms price all ten, oddsline's three bookmakers
      // the five its one request brings (an odds API has no pages).
      expect(page.items).toHaveLength(10);
      expect(shown).toHaveLength(expected.size);
      expect(shown.length).toBe(10 * 5 * 10 + 5 * 5 * 3);
      expect(await columnLabels(tab.page)).toEqual(COLUMNS);
      for (const c of shown) {
        const want = expected.get(keyOf(c))!;
        expect(want, keyOf(c)).toBeDefined();
        expect(c.price, keyOf(c)).toBe(want.price);
        expect(c.shown, keyOf(c)).toBe(want.price.toFixed(2));
        expect(c.best, keyOf(c)).toBe(want.best);
        expect(c.movement).toBe('new');
        // Best is said in text (a star and "best price" for screen readers), not by colour alone.
        expect(c.text.includes('★') && c.text.includes('best price'), keyOf(c)).toBe(c.best);
        // What the platform wrote, when it is not the decimal shown: oakridge's American, quayside's fractional prices.
        const written = Number(want.priceText) === want.price ? null : want.priceText;
        if (written) expect(c.title, keyOf(c)).toContain(`(written ${written})`);
        else expect(c.title, keyOf(c)).not.toContain('written');
      }
      expect(shown.filter((c) => c.platform === 'oakridge').every((c) => /\(written [+-]\d+\)/.test(c.title))).toBe(true);
      expect(shown.filter((c) => c.platform === 'quayside').some((c) => /\(written \d+\/\d+\)/.test(c.title))).toBe(true);
      // A match result reads home, draw, away; canonical names whatever each platform called them.
      const firstEvent = tab.page.locator('[data-testid="odds-event"]').first();
      expect(await firstEvent.locator('[data-testid="odds-selection"]').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-market')}:${r.getAttribute('data-selection')}`))).toEqual([
        'match_result:home', 'match_result:draw', 'match_result:away', 'totals:over 2.5', 'totals:under 2.5',
      ]);
      expect(await firstEvent.locator('[data-testid="odds-selection"] th').allTextContents()).toEqual([
        'Match result: Home', 'Match result: Draw', 'Match result: Away', 'Totals: Over 2.5', 'Totals: Under 2.5',
      ]);
      // Its start time, and how each platform lists it, one click away.
      const first = page.items[0]!;
      expect(await firstEvent.locator('[data-testid="odds-event-name"]').textContent()).toBe(first.eventName);
      expect(await firstEvent.locator('[data-testid="odds-starts-at"]').getAttribute('datetime')).toBe(first.startsAt);
      expect(await firstEvent.locator('[data-testid="odds-listing"]').first().isVisible()).toBe(false);
      await firstEvent.locator('[data-testid="odds-listings"] summary').click();
      const listings = await firstEvent.locator('[data-testid="odds-listing"]').allTextContents();
      expect(listings).toHaveLength(PLATFORM_COUNT);
      const quayside = first.listings.find((l) => l.platform === 'quayside')!;
      expect(quayside.eventName).not.toBe(first.eventName);
      expect(listings.map((l) => l.replace(/\s+/g, ' ').trim())).toContain(`quayside ${quayside.eventName} #${quayside.eventKey}`);
      // Every selection has a best price, and it is the highest shown.
      const bySelection = new Map<string, Cell[]>();
      for (const c of shown) bySelection.set(`${c.event}/${c.market}/${c.selection}`, [...(bySelection.get(`${c.event}/${c.market}/${c.selection}`) ?? []), c]);
      for (const [key, row] of bySelection) {
        const max = Math.max(...row.map((c) => c.price));
        expect(row.filter((c) => c.best).map((c) => c.price), key).not.toHaveLength(0);
        for (const c of row.filter((x) => x.best)) expect(c.price).toBe(max);
      }
      await screenshot(tab.page, 'odds-bookmakers-1280');
      await tab.page.setViewportSize({ width: 390, height: 844 });
      await screenshot(tab.page, 'odds-bookmakers-390');
      // The columns past the feeds: oddsline's bookmakers, quayside and oakridge, the selection column still in view.
      await tab.page.evaluate(`document.querySelector('.odds-wrap').scrollLeft = 1e6`);
      await screenshot(tab.page, 'odds-bookmakers-390-scrolled');
      await tab.page.setViewportSize({ width: 1280, height: 900 });

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
      // One request per platform that finished, each for that platform only: never the whole table.
      console.log(`odds requests during the second run: ${oddsRequests.join(' ')}`);
      expect(oddsRequests.length).toBeGreaterThan(0);
      expect(oddsRequests.length).toBeLessThanOrEqual(PLATFORM_COUNT);
      for (const search of oddsRequests) expect(search).toMatch(/platform=\w+/);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 90_000);

  it('keeps its search and platform filter across a reload', async () => {
    // A slow API: the table of the previous filters stays up (dimmed) a while after each change, as on a slow network.
    const slowOdds = async (page: Page) => {
      await page.route((url) => url.pathname === '/api/odds', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await route.continue();
      });
    };
    const tab = await openTab(browser, server.url, '/odds', undefined, slowOdds);
    try {
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const word = 'Arsenal';
      await testId(tab.page, 'odds-search').fill(word);
      await tab.page.waitForURL(/q=Arsenal/, { timeout: 5_000 });
      await testId(tab.page, 'odds-platform').selectOption('oddsline');
      await tab.page.waitForURL(/platform=oddsline/, { timeout: 5_000 });
      const expectedNames = (await (await server.api(`/api/odds?limit=50&platform=oddsline&q=${word}`)).json() as OddsPage).items.map((event) => event.eventName);
      expect(expectedNames.length).toBeGreaterThan(0);

      const check = async () => {
        // The page as read for its URL, not the table of the previous filters still shown (dimmed) while it loads.
        const shown = await settledCells(tab.page);
        expect(shown.length, tab.page.url()).toBeGreaterThan(0);
        expect(new Set(shown.map((c) => c.platform))).toEqual(new Set(['oddsline']));
        const names = await testId(tab.page, 'odds-event-name').allTextContents();
        expect(names, tab.page.url()).toEqual(expectedNames);
        for (const name of names) expect(name).toContain(word);
        // The platform's bookmakers, each its own column.
        expect(await columnLabels(tab.page)).toEqual(['copperbet via oddsline', 'meridian via oddsline', 'tideway via oddsline']);
      };
      await check();
      await tab.page.reload();
      expect(await testId(tab.page, 'odds-search').inputValue()).toBe(word);
      await check();
      expect(await testId(tab.page, 'odds-platform').inputValue()).toBe('oddsline');
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

  it("greys a stale platform's prices, every bookmaker it brings, with their age once it has had no successful scrape for over three scrape intervals, as the API says", async () => {
    const patch = await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 10 } });
    expect(patch.status).toBe(200);
    // Their last successful scrapes 31 s in the past (past three intervals, 30 s), as if the time had passed
    // without a run, then a run where redfox and oddsline fail: they are stale, the others have just succeeded.
    const moved = await server.db.query(
      `update platform_steps set started_at = started_at - (finished_at - (now() - interval '31 seconds')), finished_at = now() - interval '31 seconds'
       where platform = any($1) and finished_at > now() - interval '31 seconds' returning platform`,
      [['redfox', 'oddsline']],
    );
    expect(new Set(moved.map((row) => row.platform))).toEqual(new Set(['redfox', 'oddsline']));
    setFeeds(server, { failureRate: 0 }, { redfox: { failureRate: 1 }, oddsline: { failureRate: 1 } });
    const response = await server.api('/api/runs', { method: 'POST', json: {} });
    await server.waitForRun(((await response.json()) as RunDetail).id, ['partial'], 30_000);
    const tab = await openTab(browser, server.url, '/odds');
    try {
      await testId(tab.page, 'odds-price').first().waitFor({ timeout: 10_000 });
      const shown = await settledCells(tab.page);
      const stale = (await tab.page.evaluate(`[...document.querySelectorAll('[data-testid="odds-price"][data-stale="true"]')].map((td) => td.dataset.bookmaker)`)) as string[];
      expect(new Set(stale)).toEqual(new Set(['redfox', 'copperbet', 'meridian', 'tideway']));
      expect(stale.length).toBe(shown.filter((c) => c.platform === 'redfox' || c.platform === 'oddsline').length);
      const redfox = tab.page.locator('[data-testid="odds-price"][data-platform="redfox"]').first();
      // The price shows its age; the platform, not the price, is stale (its columns say so, with its last success).
      // Seconds or, once the runs before it took over a minute (browser platforms on a busy machine), minutes.
      expect(await redfox.locator('[data-testid="odds-age"]').textContent()).toMatch(/^, scraped \d+[sm] ago$/);
      for (const bookmaker of ['redfox', 'copperbet', 'meridian', 'tideway']) {
        const header = tab.page.locator(`[data-testid="odds-bookmaker-col"][data-bookmaker="${bookmaker}"]`);
        expect(await header.textContent()).toContain('stale');
        expect(await header.locator('[data-testid="odds-last-success"]').textContent()).toMatch(/^last success \d+s ago$/);
      }
      expect(await tab.page.locator('[data-testid="odds-bookmaker-col"][data-stale="true"]').count()).toBe(4);
      // The same verdict as the API's.
      const api = (await (await server.api('/api/odds?limit=1')).json()) as OddsPage;
      expect(api.bookmakers.filter((bookmaker) => bookmaker.stale).map((bookmaker) => bookmaker.platform)).toEqual(['redfox', 'oddsline']);
      const colourOf = (bookmaker: string) =>
        tab.page.evaluate(`getComputedStyle(document.querySelector('[data-testid="odds-price"][data-bookmaker="${bookmaker}"]')).color`) as Promise<string>;
      const fresh = await colourOf('northwind');
      expect(await colourOf('redfox')).not.toBe(fresh);
      expect(await colourOf('tideway')).not.toBe(fresh);
      await screenshot(tab.page, 'odds-stale-1280');
    } finally {
      await tab.close();
    }
  }, 90_000);
});
