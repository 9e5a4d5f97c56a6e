import type { Browser, Response as PageResponse } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import {
  allRuns,
  ensureBuilt,
  holdsFor,
  launchBrowser,
  openTab,
  screenshot,
  setFeeds,
  TERMINAL,
  testId,
  waitConnected,
  waitDashboardLoaded,
  waitFor,
  type Tab,
} from './support.js';

const GRACE_MS = 2_000;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  // Concurrency 1 and slow feeds: when the grace period ends, platforms remain that were never started.
  server = await startTestServer({ CONNECTION_GRACE_MS: String(GRACE_MS), SCRAPE_CONCURRENCY: '1' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const isAutoRescrapeCheck = (response: PageResponse) => {
  const url = new URL(response.url());
  return url.pathname === '/api/runs' && url.searchParams.get('limit') === '1' && response.request().method() === 'GET';
};

describe('dashboard: connection loss', () => {
  it('fails a watched run when its only tab closes; the next tab shows Connection lost and retries it exactly once', async () => {
    setFeeds(server, { latencyMs: 350, pages: 3, eventsPerPage: 6, failureRate: 0, hang: false }); // ~1 s per platform
    const tabs: Tab[] = [];
    try {
      // Tab A starts a run and watches it, then goes away mid-run.
      const a = await openTab(browser, server.url, '/');
      tabs.push(a);
      await waitDashboardLoaded(a.page);
      await testId(a.page, 'scrape-now').click();
      const panelA = testId(a.page, 'live-run-panel');
      await a.page.locator('[data-testid="live-run-panel"][data-active="true"]').waitFor({ timeout: 5_000 });
      const lostId = Number(await panelA.getAttribute('data-run-id'));
      await panelA.locator('[data-testid="platform-step"][data-step-status="running"]').first().waitFor({ timeout: 5_000 });
      const watched = (await (await server.api(`/api/runs/${lostId}`)).json()) as RunDetail;
      expect(watched.trigger).toBe('api-stream');
      expect(watched.status).toBe('running');
      const closedAt = Date.now();
      await a.page.close();

      const lost = await server.waitForRun(lostId, TERMINAL, 20_000);
      expect(lost.status).toBe('connection_failed');
      expect(lost.failureReason).toBe('connection_lost');
      expect(lost.finishedAt).not.toBeNull();
      expect(Date.parse(lost.finishedAt!) - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
      const skipped = lost.steps.filter((step) => step.status === 'skipped');
      expect(skipped.length, 'platforms never started after the tab went away').toBeGreaterThan(0);
      expect(lost.retriedBy).toBeNull();

      // Tab B (a new page): shows the lost run as "Connection lost" and starts one retry, which completes.
      setFeeds(server, { latencyMs: 40, pages: 2 });
      const b = await openTab(browser, server.url, '/');
      tabs.push(b);
      await waitDashboardLoaded(b.page);
      const lostRow = b.page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${lostId}"]`);
      await lostRow.waitFor();
      expect(await lostRow.getAttribute('data-status')).toBe('connection_failed');
      const lostBadge = lostRow.locator('[data-testid="status-badge"]');
      expect(await lostBadge.getAttribute('data-status')).toBe('connection_failed');
      expect((await lostBadge.textContent())?.trim()).toBe('Connection lost');

      const retried = await waitFor(
        async () => {
          const runs = (await allRuns(server)).filter((run) => run.retryOf === lostId);
          return runs.length ? runs : undefined;
        },
        { timeoutMs: 10_000, what: `a retry of run ${lostId}` },
      );
      expect(retried).toHaveLength(1);
      const retryId = retried[0]!.id;
      expect(retried[0]!.trigger).toBe('retry');

      const panelB = testId(b.page, 'live-run-panel');
      await b.page.locator(`[data-testid="live-run-panel"][data-run-id="${retryId}"]`).waitFor({ timeout: 5_000 });
      await panelB.locator('[data-testid="run-progress"][data-status="completed"]').waitFor({ timeout: 15_000 });
      expect((await panelB.locator('[data-testid="run-progress"] [data-testid="status-badge"]').textContent())?.trim()).toBe('Completed');
      expect((await server.waitForRun(retryId, ['completed'])).status).toBe('completed');

      const toasts = await b.toasts();
      const announced = toasts.filter((toast) => toast.text.includes(`Connection was lost during run #${lostId}`));
      expect(announced, JSON.stringify(toasts)).toHaveLength(1);
      expect(announced[0]!.kind).toBe('warning');
      expect(announced[0]!.text).toContain(`started retry run #${retryId}`);
      expect(b.runPosts).toHaveLength(1);
      expect(JSON.parse(b.runPosts[0]!.postData() ?? '{}')).toEqual({ retryOf: lostId });
      expect(await b.page.evaluate(`sessionStorage.getItem('oddswatch.autoRetry.${lostId}') !== null`)).toBe(true);
      // The retry's row names the run it retries.
      await b.page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${retryId}"]`).getByText(`retry of #${lostId}`).waitFor();

      // Reload: the page checks again (GET /api/runs?limit=1) and starts nothing.
      const checked = b.page.waitForResponse(isAutoRescrapeCheck, { timeout: 10_000 });
      await b.page.reload();
      await waitConnected(b.page);
      await checked;
      await holdsFor(
        async () => b.runPosts.length === 1 && (await allRuns(server)).filter((run) => run.retryOf === lostId).length === 1,
        1_000,
        'no second retry after the reload',
      );
      expect((await allRuns(server)).filter((run) => run.trigger === 'retry')).toHaveLength(1);

      // The lost run's page: "Connection lost", its skipped platforms, and which run retried it.
      await b.page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${lostId}"] a`).first().click();
      const detail = b.page.locator(`[data-testid="run-detail-view"][data-run-id="${lostId}"]`);
      await detail.waitFor();
      await detail.locator('[data-testid="run-progress"][data-status="connection_failed"]').waitFor();
      expect((await detail.locator('[data-testid="status-badge"]').first().textContent())?.trim()).toBe('Connection lost');
      expect(await detail.locator('[data-testid="run-failure-reason"]').getAttribute('data-reason')).toBe('connection_lost');
      await detail.locator('[data-testid="run-retried-by"]').getByText(`run #${retryId}`).waitFor();
      expect(await detail.locator('[data-testid="run-retry"]').count()).toBe(0);
      expect(await detail.locator('[data-testid="platform-step"][data-step-status="skipped"]').count()).toBe(skipped.length);
      await screenshot(b.page, 'run-detail-connection-lost-1280');

      expect(a.pageErrors).toEqual([]);
      expect(b.pageErrors).toEqual([]);
    } finally {
      for (const tab of tabs) await tab.close();
    }
  }, 90_000);
});
