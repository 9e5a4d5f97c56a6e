import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRAPE_JOB_ID, WATCHDOG_JOB_ID, type SchedulerJob, type SchedulerState } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, testId, waitDashboardLoaded, type Tab } from './support.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  // Different intervals for the two jobs: the old product showed jobs[0] (the watchdog's 2 minutes) as the scrape interval.
  server = await startTestServer({ SCHEDULER_ENABLED: 'true', SCRAPE_INTERVAL_SECONDS: '600', WATCHDOG_INTERVAL_SECONDS: '120' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function schedulerApi(): Promise<{ state: SchedulerState; scrape: SchedulerJob; watchdog: SchedulerJob }> {
  const state = (await (await server.api('/api/scheduler')).json()) as SchedulerState;
  return {
    state,
    scrape: state.jobs.find((job) => job.id === SCRAPE_JOB_ID)!,
    watchdog: state.jobs.find((job) => job.id === WATCHDOG_JOB_ID)!,
  };
}

/** "in 9m 58s": ten minutes away at most (never the watchdog's two). */
const NEXT_RUN_IN_10_MIN = /^in (9m [0-5]\ds|10m 00s)$/;

/** What the card shows. */
async function card(page: Page) {
  const root = testId(page, 'scheduler-card');
  const text = async (testid: string) => (await root.locator(`[data-testid="${testid}"]`).textContent())?.trim() ?? null;
  const tags = await root.locator('[data-testid="scheduler-active"], [data-testid="scheduler-paused"], [data-testid="scheduler-off"]').allTextContents();
  return {
    tag: tags.map((tag) => tag.trim()).join(' '),
    paused: await root.getAttribute('data-paused'),
    intervalSeconds: Number(await root.locator('[data-testid="scheduler-interval"]').getAttribute('data-seconds')),
    interval: await text('scheduler-interval'),
    watchdog: await text('scheduler-watchdog-interval'),
    nextRun: await text('scheduler-next-run'),
    nextRunAt: (await root.locator('[data-testid="scheduler-next-run"]').getAttribute('data-next-run-at')) ?? null,
  };
}

describe('dashboard: scheduler card', () => {
  it("shows the scrape job's own interval and next run, and pause/resume agrees with the API", async () => {
    const tabs: Tab[] = [];
    try {
      const tab = await openTab(browser, server.url, '/', undefined, async (page) => {
        // The contract promises no job order. This tab gets its REST answers watchdog first, so a card that
        // read jobs[0] (the old product's bug) would show the watchdog's 2 minutes here.
        await page.route(
          (url) => url.pathname.startsWith('/api/scheduler'),
          async (route) => {
            const response = await route.fetch();
            const body = (await response.json()) as Partial<SchedulerState>;
            // Watchdog first, scrape job last.
            if (Array.isArray(body.jobs)) body.jobs.sort((a, b) => Number(b.id === WATCHDOG_JOB_ID) - Number(a.id === WATCHDOG_JOB_ID) || Number(a.id === SCRAPE_JOB_ID) - Number(b.id === SCRAPE_JOB_ID));
            await route.fulfill({ response, json: body });
          },
        );
      });
      const other = await openTab(browser, server.url, '/'); // a second operator's tab: follows the changes live
      tabs.push(tab, other);
      const { page } = tab;
      await waitDashboardLoaded(page);
      await waitDashboardLoaded(other.page);

      const api = await schedulerApi();
      expect(api.scrape.intervalSeconds).toBe(600);
      expect(api.watchdog.intervalSeconds).toBe(120);
      const reordered = (await page.evaluate(`fetch('/api/scheduler').then((r) => r.json())`)) as SchedulerState;
      expect(reordered.jobs[0]!.id).toBe(WATCHDOG_JOB_ID);
      expect(reordered.jobs.at(-1)!.id).toBe(SCRAPE_JOB_ID);
      let shown = await card(page);
      expect(shown.intervalSeconds).toBe(600);
      expect(shown.interval).toBe('10 min');
      expect(shown.watchdog).toBe('every 2 min');
      expect(shown.paused).toBe('false');
      expect(shown.tag).toBe('Active');
      expect(shown.nextRunAt).toBe(api.scrape.nextRunAt);
      // A countdown on the page's one-second clock (up to a tick stale right after a change): poll past that tick.
      await expect.poll(async () => (await card(page)).nextRun, { timeout: 3_000 }).toMatch(NEXT_RUN_IN_10_MIN);
      expect(await testId(page, 'scheduler-card').textContent()).not.toContain('Paused');

      // Pause: the card, the API and the other tab agree.
      await testId(page, 'scheduler-pause').click();
      await page.locator('[data-testid="scheduler-card"][data-paused="true"]').waitFor({ timeout: 5_000 });
      shown = await card(page);
      const pausedApi = await schedulerApi();
      expect(pausedApi.state.paused).toBe(true);
      expect(pausedApi.scrape.paused).toBe(true);
      expect(pausedApi.scrape.nextRunAt).toBeNull();
      expect(shown.nextRun).toBe('paused');
      expect(shown.tag).toBe('Paused');
      expect(shown.nextRunAt).toBeNull();
      expect(shown.intervalSeconds).toBe(600);
      await testId(page, 'scheduler-resume').waitFor();
      expect(await testId(page, 'scheduler-pause').count()).toBe(0);
      await other.page.locator('[data-testid="scheduler-card"][data-paused="true"]').waitFor({ timeout: 5_000 });
      expect((await card(other.page)).nextRun).toBe('paused');

      // Paused is stored: a reload still shows it.
      await page.reload();
      await waitDashboardLoaded(page);
      expect((await card(page)).paused).toBe('true');
      expect(await testId(page, 'live-run-idle').textContent()).toContain('The scheduler is paused.');

      // Resume: a next run again, one interval (10 minutes) away, shown the same by card and API.
      await testId(page, 'scheduler-resume').click();
      await page.locator('[data-testid="scheduler-card"][data-paused="false"]').waitFor({ timeout: 5_000 });
      const resumedApi = await schedulerApi();
      expect(resumedApi.state.paused).toBe(false);
      expect(resumedApi.scrape.nextRunAt).not.toBeNull();
      const untilNext = Date.parse(resumedApi.scrape.nextRunAt!) - Date.now();
      expect(untilNext).toBeGreaterThan(590_000);
      expect(untilNext).toBeLessThanOrEqual(600_000);
      shown = await card(page);
      expect(shown.tag).toBe('Active');
      expect(shown.nextRunAt).toBe(resumedApi.scrape.nextRunAt);
      await expect.poll(async () => (await card(page)).nextRun, { timeout: 3_000 }).toMatch(NEXT_RUN_IN_10_MIN);
      expect(shown.intervalSeconds).toBe(600);
      await other.page.locator('[data-testid="scheduler-card"][data-paused="false"]').waitFor({ timeout: 5_000 });
      expect((await card(other.page)).nextRunAt).toBe(resumedApi.scrape.nextRunAt);

      expect(tab.pageErrors).toEqual([]);
      expect(other.pageErrors).toEqual([]);
    } finally {
      for (const tab of tabs) await tab.close();
    }
  }, 60_000);
});
