import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, screenshot, setFeeds, testId, waitDashboardLoaded, waitFor, type Tab } from './support.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer(); // the shipped scrape pool: every platform of a run starts at once
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * The eleven simulated platforms, of different lengths, all scraped at once (the default pool): luckyowl (5 pages,
 * ~2.8 s) runs while the others finish around it, so its elapsed time ticks and its count grows while other steps
 * complete. oddsline (an odds API) answers its one request with every sporting event.
 */
const FEEDS = {
  northwind: { latencyMs: 300, pages: 4, eventsPerPage: 12 },
  luckyowl: { latencyMs: 550, pages: 5, eventsPerPage: 15 },
  harborline: { latencyMs: 200, pages: 3, eventsPerPage: 10 },
  redfox: { latencyMs: 250, pages: 4, eventsPerPage: 8 },
  silverstake: { latencyMs: 150, pages: 3, eventsPerPage: 9 },
  bluepeak: { latencyMs: 250, pages: 3, eventsPerPage: 11 },
  oddsline: { latencyMs: 700, pages: 1, eventsPerPage: 12 },
  quayside: { latencyMs: 300, pages: 3, eventsPerPage: 10 },
  oakridge: { latencyMs: 350, pages: 3, eventsPerPage: 12 },
  kestrel: { latencyMs: 250, pages: 3, eventsPerPage: 8 },
  nightjar: { latencyMs: 200, pages: 2, eventsPerPage: 10 },
};

describe('dashboard: Scrape now', () => {
  it('shows the platform sub-steps live, all at once with ticking times and growing counts, completing one by one, then Completed', async () => {
    setFeeds(server, { failureRate: 0, hang: false }, FEEDS);
    const tab = await openTab(browser, server.url, '/');
    const mobile = await openTab(browser, server.url, '/', { width: 390, height: 844 });
    try {
      const { page } = tab;
      await waitDashboardLoaded(page);
      await waitDashboardLoaded(mobile.page);
      await testId(page, 'live-run-idle').waitFor();
      // This service runs with the scheduler disabled: the card says so instead of claiming it is active.
      expect((await testId(page, 'scheduler-off').textContent())?.trim()).toBe('Off');
      expect(await testId(page, 'scheduler-active').count()).toBe(0);
      expect((await testId(page, 'scheduler-next-run').textContent())?.trim()).toBe('not scheduled');

      await testId(page, 'scrape-now').click();
      const panel = testId(page, 'live-run-panel');
      await page.locator('[data-testid="live-run-panel"][data-active="true"]').waitFor({ timeout: 5_000 });
      const runId = Number(await panel.getAttribute('data-run-id'));
      expect(runId).toBeGreaterThan(0);
      const started = (await (await server.api(`/api/runs/${runId}`)).json()) as RunDetail;
      expect(started.trigger).toBe('api-stream'); // started while the stream was connected: watched live
      expect(started.platforms).toEqual(Object.keys(FEEDS));

      // Mid-run: one step done while another still runs (luckyowl is the long one).
      await panel.locator('[data-testid="platform-step"][data-step-status="completed"]').first().waitFor({ timeout: 10_000 });
      await panel.locator('[data-testid="platform-step"][data-platform="luckyowl"][data-step-status="running"]').waitFor({ timeout: 1_000 });
      await screenshot(page, 'dashboard-mid-run-1280');
      await screenshot(mobile.page, 'dashboard-mid-run-390');

      const badge = panel.locator('[data-testid="run-progress"] [data-testid="status-badge"]');
      await panel.locator('[data-testid="run-progress"][data-status="completed"]').waitFor({ timeout: 30_000 });
      await expect.poll(() => badge.getAttribute('data-status')).toBe('completed');
      expect((await badge.textContent())?.trim()).toBe('Completed');
      const total = Object.keys(FEEDS).length;
      expect((await testId(page, 'run-progress-text').textContent())?.trim()).toBe(`${total}/${total} platforms`);
      await expect.poll(() => panel.getAttribute('data-active')).toBe('false');

      // The final counts on screen are the server's.
      const finished = await server.waitForRun(runId, ['completed']);
      for (const step of finished.steps) {
        const shown = await panel.locator(`[data-testid="platform-step"][data-platform="${step.platform}"] [data-testid="step-events"]`).textContent();
        expect(Number.parseInt(shown ?? '', 10), step.platform).toBe(step.eventsFound);
      }
      const luckyowlEvents = FEEDS.luckyowl.pages * FEEDS.luckyowl.eventsPerPage;
      expect(finished.steps.find((step) => step.platform === 'luckyowl')!.eventsFound).toBe(luckyowlEvents);

      // What the page showed over time, recorded by the page recorder.
      const records = (await tab.steps()).filter((record) => record.runId === runId);
      const of = (platform: string, status?: string) =>
        records.filter((record) => record.platform === platform && (status === undefined || record.status === status));
      const completedAt = new Map<string, number>();
      for (const platform of Object.keys(FEEDS)) {
        const running = of(platform, 'running');
        const completed = of(platform, 'completed');
        expect(running.length, `${platform} seen running`).toBeGreaterThan(0);
        expect(completed.length, `${platform} seen completed`).toBeGreaterThan(0);
        expect(running[0]!.at, `${platform}: running before completed`).toBeLessThan(completed[0]!.at);
        expect(running.every((record) => record.elapsed !== null), `${platform}: running steps show an elapsed time`).toBe(true);
        completedAt.set(platform, completed[0]!.at);
      }

      // luckyowl: its elapsed time ticked and its events count grew while it was running, before it completed.
      const luckyowl = of('luckyowl', 'running');
      const elapsedSeen = unique(luckyowl.map((record) => record.elapsed!));
      expect(elapsedSeen.length, `elapsed values seen: ${elapsedSeen.join(', ')}`).toBeGreaterThanOrEqual(2);
      expect(elapsedSeen.map(seconds)).toEqual([...elapsedSeen.map(seconds)].sort((a, b) => a - b));
      const counts = unique(luckyowl.map((record) => record.eventsSoFar).filter((count): count is number => count !== null));
      expect(counts.length, `counts seen: ${counts.join(', ')}`).toBeGreaterThanOrEqual(3);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(counts.at(-1)!).toBeLessThanOrEqual(luckyowlEvents);
      expect(of('luckyowl', 'completed')[0]!.events).toBe(luckyowlEvents);

      // All at once, as users see a run: every platform was shown running before the first one completed, and
      // they completed at different times.
      const firstCompleted = Math.min(...completedAt.values());
      for (const platform of Object.keys(FEEDS)) expect(of(platform, 'running')[0]!.at, `${platform} running before any completed`).toBeLessThan(firstCompleted);
      const mixed = (await tab.mixedAt()).filter((moment) => moment.runId === runId);
      expect(mixed.length, 'a moment with a completed step next to an unfinished one').toBeGreaterThan(0);
      const moments = unique([...completedAt.values()]).sort((a, b) => a - b);
      expect(moments.length, `completion moments: ${[...completedAt].map(([p, at]) => `${p}@${at - moments[0]!}`).join(' ')}`).toBeGreaterThanOrEqual(4);
      expect(moments.at(-1)! - moments[0]!).toBeGreaterThan(1_000);
      // Each step lasted at least its own feed's pages (the server's times; the order seen on the page is not
      // asserted, as a loaded machine can delay one short step past a long one).
      for (const step of finished.steps) {
        const feed = FEEDS[step.platform as keyof typeof FEEDS];
        expect(step.durationMs!, `${step.platform} step duration`).toBeGreaterThanOrEqual(feed.pages * feed.latencyMs - 50);
      }
      console.log(`completed after Scrape now: ${[...completedAt].map(([platform, at]) => `${platform} +${at - records[0]!.at} ms`).join(', ')}`);
      console.log(`step durations (server): ${finished.steps.map((step) => `${step.platform} ${step.durationMs} ms`).join(', ')}`);

      await screenshot(page, 'dashboard-after-run-1280');
      await mobile.page.locator('[data-testid="live-run-panel"] [data-testid="run-progress"][data-status="completed"]').waitFor();
      await screenshot(mobile.page, 'dashboard-after-run-390');
      expect(tab.pageErrors).toEqual([]);
      expect(mobile.pageErrors).toEqual([]);
    } finally {
      await tab.close();
      await mobile.close();
    }
  }, 60_000);

  it('keeps exactly one EventSource per tab across views, and that one stream stays live', async () => {
    setFeeds(server, { latencyMs: 20, pages: 2, eventsPerPage: 5, failureRate: 0, hang: false });
    let tab: Tab | undefined;
    try {
      tab = await openTab(browser, server.url, '/');
      const { page } = tab;
      await waitDashboardLoaded(page);

      await testId(page, 'nav-runs').click();
      await testId(page, 'runs-view').waitFor();
      await page.locator('[data-testid="runs-view"] [data-testid="run-row"]').first().waitFor();

      // A run started elsewhere shows up on the runs page through the same stream, and finishes there.
      const response = await server.api('/api/runs', { method: 'POST', json: {} });
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as RunDetail;
      const row = page.locator(`[data-testid="runs-view"] [data-testid="run-row"][data-run-id="${id}"]`);
      await row.waitFor({ timeout: 5_000 });
      await page.locator(`[data-testid="runs-view"] [data-testid="run-row"][data-run-id="${id}"][data-status="completed"]`).waitFor({ timeout: 10_000 });
      expect(await row.getAttribute('data-trigger')).toBe('api');
      await screenshot(page, 'runs-page-1280');

      await row.locator('a').first().click();
      await page.locator(`[data-testid="run-detail-view"][data-run-id="${id}"]`).waitFor();
      await page.locator('[data-testid="run-detail-view"] [data-testid="platform-step"]').first().waitFor();
      await testId(page, 'nav-dashboard').click();
      await testId(page, 'dashboard-view').waitFor();
      await page.goBack();
      await page.locator(`[data-testid="run-detail-view"][data-run-id="${id}"]`).waitFor();
      await page.goForward();
      await testId(page, 'dashboard-view').waitFor();
      // The odds page and a bookmaker's page read the same stream too (no second EventSource).
      await testId(page, 'nav-odds').click();
      await testId(page, 'odds-price').first().waitFor();
      await testId(page, 'nav-dashboard').click();
      await testId(page, 'platform-link').first().click();
      await testId(page, 'platform-view').waitFor();
      await testId(page, 'nav-dashboard').click();
      await testId(page, 'dashboard-view').waitFor();

      // Still live after all that navigation: a new run reaches the dashboard's recent runs.
      const second = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
      await page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${second.id}"][data-status="completed"]`).waitFor({ timeout: 10_000 });

      expect(tab.streamRequests.map((request) => new URL(request.url()).pathname)).toEqual(['/api/events']);
      expect(await tab.eventSourcesCreated()).toBe(1);
      expect(await tab.eventSourcesOpen()).toBe(1);
      // The server agrees: this tab is the one subscriber of the global stream (earlier tabs are closed).
      await waitFor(
        async () => (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_sse_subscribers', { stream: 'global' }) === 1,
        { timeoutMs: 5_000, what: 'one global SSE subscriber' },
      );
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab?.close();
    }
  }, 60_000);
});

function unique<T>(values: T[]): T[] {
  return values.filter((value, index) => values.indexOf(value) === index);
}

/** "0:04" -> 4, "1:02:03" -> 3723. */
function seconds(clock: string): number {
  return clock.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

