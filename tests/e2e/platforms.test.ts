import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimFeeds, SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import type { PlatformInfo, RunDetail } from '../../src/shared/contract.js';
import { FAST_FEEDS, startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, screenshot, seriousViolations, testId, waitConnected } from './support.js';

/**
 * The Platforms page in Chromium: every platform with its kind, last outcome, reason and quota, and the
 * preview form against the simulator's platforms (started here and named in PLATFORMS_FILE).
 * Screenshots: test-artifacts/screenshots/platforms-*.png.
 */
let sim: SimulatedFeeds;
let server: TestServer;
let browser: Browser;
const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-platforms-e2e-'));
const NAMES = ['northwind', 'luckyowl', 'redfox'];
const WIDTHS = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
];

beforeAll(async () => {
  ensureBuilt();
  sim = new SimulatedFeeds(parseSimFeeds(FAST_FEEDS));
  await sim.start();
  const file = path.join(dir, 'platforms.json');
  writeFileSync(file, JSON.stringify(NAMES.map((name) => sim.entryOf(name))));
  server = await startTestServer({ PLATFORMS_FILE: file });
  browser = await launchBrowser();
  // One run in which redfox fails and luckyowl's prices are misread, so the page has outcomes, a reason and a
  // data-quality flag to show.
  sim.set('redfox', { failureRate: 1 });
  sim.set('luckyowl', { fractionalMisread: true });
  const response = await server.api('/api/runs', { method: 'POST', json: {} });
  await server.waitForRun(((await response.json()) as RunDetail).id, ['partial'], 30_000);
  sim.set('redfox', { failureRate: 0 });
  sim.set('luckyowl', { fractionalMisread: false });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Platforms page', () => {
  it('lists every platform with its kind, last outcome, reason and quota, and is reached from the nav', async () => {
    const { items } = (await (await server.api('/api/platforms')).json()) as { items: PlatformInfo[] };
    expect(items.map((item) => item.name)).toEqual(NAMES);
    for (const viewport of WIDTHS) {
      const tab = await openTab(browser, server.url, '/', viewport);
      try {
        await waitConnected(tab.page);
        await testId(tab.page, 'nav-platforms').click();
        await tab.page.waitForURL(/\/platforms$/);
        const rows = testId(tab.page, 'platforms-row');
        await rows.first().waitFor({ timeout: 10_000 });
        expect(await rows.count()).toBe(items.length);
        for (const [index, item] of items.entries()) {
          const row = rows.nth(index);
          expect(await row.getAttribute('data-platform')).toBe(item.name);
          expect(await row.locator('[data-testid="platforms-kind"]').textContent()).toBe(item.kind);
          expect(await row.getAttribute('data-outcome')).toBe(item.lastOutcome);
          expect((await row.locator('[data-testid="platforms-quota"]').textContent())?.trim()).toBe(item.quotaRemaining === null ? '—' : String(item.quotaRemaining));
        }
        const redfox = testId(tab.page, 'platforms-row').and(tab.page.locator('[data-platform="redfox"]'));
        expect(await redfox.getAttribute('data-outcome')).toBe('failed');
        expect(await redfox.locator('[data-testid="platforms-reason"]').getAttribute('data-reason')).toBe('http_5xx');
        expect((await redfox.locator('[data-testid="platforms-reason"]').textContent())?.trim()).toBe('HTTP 5xx');
        expect(await testId(tab.page, 'platforms-row').first().locator('[data-testid="platforms-reason"]').count()).toBe(0);
        // Data quality at a glance, in words, inside the viewport at either width.
        const quality = (name: string) => testId(tab.page, 'platforms-row').and(tab.page.locator(`[data-platform="${name}"]`)).locator('[data-testid="platform-quality"]');
        const luckyowl = items.find((item) => item.name === 'luckyowl')!.quality!;
        expect(luckyowl.implausibleMarkets).toBeGreaterThan(0);
        expect((await quality('luckyowl').locator('[data-testid="quality-implausible"]').textContent())?.trim()).toBe(`⚠ ${luckyowl.implausibleMarkets} of ${luckyowl.marketsChecked} markets implausible`);
        expect((await quality('northwind').locator('[data-testid="quality-clean"]').textContent())?.trim()).toBe('✓ No issues');
        expect((await quality('northwind').locator('[data-testid="quality-ages"]').textContent())?.trim()).toMatch(/^1 bookmaker · newest price (just now|\d+s ago)$/);
        expect((await quality('redfox').textContent())?.trim()).toBe('Not checked yet');
        const box = await quality('luckyowl').boundingBox();
        expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
        await screenshot(tab.page, `platforms-list-${viewport.width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  }, 120_000);

  it('previews a simulated entry: counts, the selections in a table, nothing stored; a failing one shows its reason', async () => {
    for (const viewport of WIDTHS) {
      const oddsBefore = (await server.db.query<{ n: number }>('select count(*)::int as n from odds'))[0]!.n;
      const tab = await openTab(browser, server.url, '/platforms', viewport);
      try {
        await waitConnected(tab.page);
        await testId(tab.page, 'preview-entry').fill(JSON.stringify(sim.entryOf('luckyowl'), null, 2));
        await testId(tab.page, 'preview-submit').click();
        const result = testId(tab.page, 'preview-result');
        await result.waitFor({ timeout: 15_000 });
        expect(await result.getAttribute('data-ok')).toBe('true');
        const found = Number(await testId(tab.page, 'preview-selections-found').textContent());
        expect(found).toBeGreaterThan(0);
        expect(await testId(tab.page, 'preview-selection').count()).toBe(Math.min(found, 50));
        expect(await testId(tab.page, 'preview-bookmakers').textContent()).toBe('luckyowl');
        expect(await testId(tab.page, 'preview-rejected').textContent()).toContain('none');
        expect(await testId(tab.page, 'preview-selection').first().textContent()).toMatch(/home\s*match_result/);
        await screenshot(tab.page, `platforms-preview-${viewport.width}`);
        expect(await seriousViolations(tab.page)).toEqual([]);
        expect((await server.db.query<{ n: number }>('select count(*)::int as n from odds'))[0]!.n).toBe(oddsBefore);

        sim.set('luckyowl', { failureRate: 1 });
        try {
          await testId(tab.page, 'preview-submit').click();
          await result.and(tab.page.locator('[data-ok="false"]')).waitFor({ timeout: 15_000 });
          expect(await result.getAttribute('data-reason')).toBe('http_5xx');
          expect(await testId(tab.page, 'preview-reason').textContent()).toContain('HTTP 5xx');
          expect(await testId(tab.page, 'preview-error').textContent()).toBe('platform answered HTTP 503 on page 1');
          await screenshot(tab.page, `platforms-preview-failed-${viewport.width}`);
          expect(await seriousViolations(tab.page)).toEqual([]);
        } finally {
          sim.set('luckyowl', { failureRate: 0 });
        }

        await testId(tab.page, 'preview-entry').fill(JSON.stringify({ ...sim.entryOf('luckyowl'), fooo: 1 }));
        await testId(tab.page, 'preview-submit').click();
        await testId(tab.page, 'preview-problem').waitFor({ timeout: 10_000 });
        expect(await testId(tab.page, 'preview-problem').textContent()).toBe('platform luckyowl: unknown key "fooo"');
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  }, 120_000);
});
