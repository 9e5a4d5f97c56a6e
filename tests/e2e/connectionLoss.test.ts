import type { Browser, Page, Response as PageResponse } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformInfo, RunDetail, RunPage, RunStatus, RunSummary } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { ensureBuilt, holdsFor, launchBrowser, openTab, screenshot, TERMINAL, testId, waitConnected, waitDashboardLoaded, waitFor, type Tab } from './support.js';

/**
 * Connection loss as users meet it: the built service (dist/, started as `npm start` starts it) as child
 * processes with the shipped scrape pool (every platform of a run in flight at once), Debian's Chromium on the
 * dashboard. Only two knobs are turned, both to make the fault show sooner: the connection grace (2 s
 * instead of 15 s) and the simulated platforms' latency (each platform reads pages for ~9 s, and the odds API,
 * which answers one request with everything, takes 8 s to answer it, so the loss happens while every platform
 * is in flight).
 */
const GRACE_MS = 2_000;
// Every platform in flight for over 12 s (a browser step starts slowly on a busy machine; the odds API answers in 20 s); nightjar renders every
// page before it is read, inside its 10 s wait for the rendered list.
const SIM_FEEDS = JSON.stringify({ '*': { latencyMs: 900, pages: 14, eventsPerPage: 6 }, oddsline: { latencyMs: 20_000 }, nightjar: { latencyMs: 600, pages: 12 } });
const STOPPED = 'stopped: the run lost its watchers';
const GRACE_STARTED = 'observed run has no watcher on any replica: connection grace started';
const GRACE_CANCELLED = 'observed run has a watcher: connection grace cancelled';

interface Service extends ChildService {
  name: string;
  api(path: string, init?: RequestInit): Promise<Response>;
}

async function startService(name: string, db: TestDatabase, graceMs = GRACE_MS): Promise<Service> {
  const child = await spawnService({ DATABASE_URL: db.url, CONNECTION_GRACE_MS: String(graceMs), SIM_FEEDS });
  return { ...child, name, api: (path, init) => fetch(child.url + path, init) };
}

const runOf = async (service: Service, id: number) => (await (await service.api(`/api/runs/${id}`)).json()) as RunDetail;

function waitForRun(service: Service, id: number, statuses: RunStatus[], timeoutMs = 30_000): Promise<RunDetail> {
  return waitFor(
    async () => {
      const run = await runOf(service, id);
      return statuses.includes(run.status) ? run : undefined;
    },
    { timeoutMs, intervalMs: 50, what: `run ${id} to become ${statuses.join('/')} on ${service.name}` },
  );
}

async function allRuns(service: Service): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
    const page = (await (await service.api(`/api/runs${query}`)).json()) as RunPage;
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

const guardLines = (service: Service, runId: number, msg: string) => service.logs.filter((line) => line.run_id === runId && line.msg === msg);
const lostWarning = (service: Service, runId: number) =>
  waitFor(() => service.logs.find((line) => line.run_id === runId && line.level === 'warn' && line.actor === 'connection_guard'), { what: `the connection guard's warning for run ${runId} on ${service.name}` });
const connectionFailures = async (service: Service) => (await MetricsSnapshot.scrape(`${service.url}/metrics`)).value('oddswatch_connection_failed_total', { trigger: 'api-stream' });
const globalSubscribers = async (service: Service) => (await MetricsSnapshot.scrape(`${service.url}/metrics`)).value('oddswatch_sse_subscribers', { stream: 'global' });

/** Clicks Scrape now and returns the id of the observed run the tab's live panel shows. */
async function scrapeNow(page: Page): Promise<number> {
  await testId(page, 'scrape-now').click();
  const panel = page.locator('[data-testid="live-run-panel"][data-active="true"]');
  await panel.waitFor({ timeout: 5_000 });
  return Number(await panel.getAttribute('data-run-id'));
}

/** The platforms that report sporting events page by page while they run. */
async function pagedPlatforms(service: Service): Promise<string[]> {
  const { items } = (await (await service.api('/api/platforms')).json()) as { items: PlatformInfo[] };
  // The odds API answers once with everything; nightjar (browser, dom) reads its rendered page once, at the end.
  return items.filter((platform) => platform.kind !== 'odds-api' && platform.name !== 'nightjar').map((platform) => platform.name);
}

/** Waits until the tab shows every platform of the run running, those that read pages with sporting events read so far. */
async function waitAllInFlight(page: Page, runId: number, platforms: string[], paged: string[]): Promise<void> {
  const running = page.locator(`[data-testid="live-run-panel"][data-run-id="${runId}"] [data-testid="platform-step"][data-step-status="running"]`);
  const reading = running.filter({ hasText: 'so far' });
  const readers = platforms.filter((platform) => paged.includes(platform)).length;
  expect(readers).toBeGreaterThan(0);
  await waitFor(async () => (await running.count()) === platforms.length && (await reading.count()) === readers, {
    timeoutMs: 15_000,
    what: `all ${platforms.length} platforms of run ${runId} in flight, ${readers} reading pages`,
  });
}

/** Checks through the API that the run is running with every platform in flight, right before its watcher goes. */
async function expectAllInFlight(service: Service, runId: number): Promise<RunDetail> {
  const run = await runOf(service, runId);
  expect(run.status).toBe('running');
  expect(run.steps.map((step) => step.status)).toEqual(run.platforms.map(() => 'running'));
  return run;
}

/** The run as the connection guard ended it: connection_failed, every platform stopped with what it read kept. */
async function expectLost(service: Service, runId: number, lostAfterMs: number, platforms: string[], paged: string[]): Promise<RunDetail> {
  const lost = await waitForRun(service, runId, TERMINAL);
  expect(lost.status).toBe('connection_failed');
  expect(lost.failureReason).toBe('connection_lost');
  expect(lost.retriedBy).toBeNull();
  for (const step of lost.steps) expect(step, step.platform).toMatchObject({ status: 'failed', error: STOPPED });
  // Their odds read so far are kept: each stopped step that read pages counts the sporting events it stored
  // (the odds API, still waiting for its one answer, read nothing).
  const kept = await waitFor(async () => {
    const run = await runOf(service, runId);
    return run.steps.every((step) => (paged.includes(step.platform) ? step.eventsFound > 0 : step.eventsFound === 0)) ? run : undefined;
  }, { what: `the stopped platforms of run ${runId} to keep what they read` });
  const warning = await lostWarning(service, runId);
  expect(warning).toMatchObject({ status: 'connection_failed', failure_reason: 'connection_lost', platforms_done: [], platforms_not_done: platforms });
  expect(warning.unwatched_ms).toBeGreaterThanOrEqual(GRACE_MS);
  // The odds API's one page takes 20 s: a run that ended before it, its steps stopped, was ended by the guard.
  expect(Date.parse(lost.finishedAt!) - Date.parse(lost.startedAt!), 'lost before the odds API could have answered').toBeLessThan(18_000);
  expect(lostAfterMs).toBeGreaterThanOrEqual(GRACE_MS - 100);
  return kept;
}

const isAutoRescrapeCheck = (response: PageResponse) => {
  const url = new URL(response.url());
  return url.pathname === '/api/runs' && url.searchParams.get('limit') === '1' && response.request().method() === 'GET';
};

let browser: Browser;
beforeAll(async () => {
  ensureBuilt();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('dashboard: connection loss on one built service, default scrape pool', () => {
  let db: TestDatabase;
  let service: Service;
  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startService('solo', db);
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  it('a tab closed while every platform is in flight: the run ends connection_failed at the grace; the next tab shows Connection lost and retries it exactly once', async () => {
    const tabs: Tab[] = [];
    try {
      // Tab A starts an observed run and watches it, then goes away while all eleven platforms are in flight.
      const a = await openTab(browser, service.url, '/');
      tabs.push(a);
      await waitDashboardLoaded(a.page);
      const lostId = await scrapeNow(a.page);
      const watched = await runOf(service, lostId);
      expect(watched.trigger).toBe('api-stream');
      const paged = await pagedPlatforms(service);
      await waitAllInFlight(a.page, lostId, watched.platforms, paged);
      await expectAllInFlight(service, lostId);
      const closedAt = Date.now();
      await a.page.close();

      const lostRun = await waitForRun(service, lostId, TERMINAL);
      const lostAfterMs = Date.parse(lostRun.finishedAt!) - closedAt;
      const lost = await expectLost(service, lostId, lostAfterMs, watched.platforms, paged);
      expect(lostAfterMs).toBeLessThan(GRACE_MS + 1_500);
      expect(guardLines(service, lostId, GRACE_STARTED)).toHaveLength(1);
      expect(await connectionFailures(service)).toBe(1);
      console.log(`[e2e connectionLoss] one service: tab closed -> connection_failed ${lostAfterMs} ms (grace ${GRACE_MS} ms), ${lost.steps.length} platforms stopped in flight with ${lost.eventsFound} sporting events kept`);

      // Tab B (a new page): shows the lost run as "Connection lost" and starts one retry, which completes.
      const b = await openTab(browser, service.url, '/');
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
          const runs = (await allRuns(service)).filter((run) => run.retryOf === lostId);
          return runs.length ? runs : undefined;
        },
        { timeoutMs: 10_000, what: `a retry of run ${lostId}` },
      );
      expect(retried).toHaveLength(1);
      const retryId = retried[0]!.id;
      expect(retried[0]!.trigger).toBe('retry');

      const panelB = testId(b.page, 'live-run-panel');
      await b.page.locator(`[data-testid="live-run-panel"][data-run-id="${retryId}"]`).waitFor({ timeout: 5_000 });
      await panelB.locator('[data-testid="run-progress"][data-status="completed"]').waitFor({ timeout: 30_000 });
      expect((await panelB.locator('[data-testid="run-progress"] [data-testid="status-badge"]').textContent())?.trim()).toBe('Completed');
      expect((await waitForRun(service, retryId, TERMINAL)).status).toBe('completed');

      const toasts = await b.toasts();
      const announced = toasts.filter((toast) => toast.text.includes(`Connection was lost during run #${lostId}`));
      expect(announced, JSON.stringify(toasts)).toHaveLength(1);
      expect(announced[0]!.kind).toBe('warning');
      expect(announced[0]!.text).toContain(`started retry run #${retryId}`);
      expect(b.runPosts).toHaveLength(1);
      expect(JSON.parse(b.runPosts[0]!.postData() ?? '{}')).toEqual({ retryOf: lostId });
      expect(await b.page.evaluate(`sessionStorage.getItem('oddswatch.autoRetry.${lostId}') !== null`)).toBe(true);
      await b.page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${retryId}"]`).getByText(`retry of #${lostId}`).waitFor();

      // Reload: the page checks again (GET /api/runs?limit=1) and starts nothing.
      const checked = b.page.waitForResponse(isAutoRescrapeCheck, { timeout: 10_000 });
      await b.page.reload();
      await waitConnected(b.page);
      await checked;
      await holdsFor(
        async () => b.runPosts.length === 1 && (await allRuns(service)).filter((run) => run.retryOf === lostId).length === 1,
        1_000,
        'no second retry after the reload',
      );
      expect((await allRuns(service)).filter((run) => run.trigger === 'retry')).toHaveLength(1);

      // The lost run's page: "Connection lost", every platform stopped with the reason, and which run retried it.
      await b.page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${lostId}"] a`).first().click();
      const detail = b.page.locator(`[data-testid="run-detail-view"][data-run-id="${lostId}"]`);
      await detail.waitFor();
      await detail.locator('[data-testid="run-progress"][data-status="connection_failed"]').waitFor();
      expect((await detail.locator('[data-testid="status-badge"]').first().textContent())?.trim()).toBe('Connection lost');
      expect(await detail.locator('[data-testid="run-failure-reason"]').getAttribute('data-reason')).toBe('connection_lost');
      await detail.locator('[data-testid="run-retried-by"]').getByText(`run #${retryId}`).waitFor();
      expect(await detail.locator('[data-testid="run-retry"]').count()).toBe(0);
      const stoppedSteps = detail.locator('[data-testid="platform-step"][data-step-status="failed"]');
      expect(await stoppedSteps.count()).toBe(lost.steps.length);
      expect(await stoppedSteps.locator('[data-testid="step-error"]').allTextContents()).toEqual(lost.steps.map(() => STOPPED));
      await screenshot(b.page, 'run-detail-connection-lost-1280');

      expect(a.pageErrors).toEqual([]);
      expect(b.pageErrors).toEqual([]);
    } finally {
      for (const tab of tabs) await tab.close();
    }
  }, 120_000);
});

// A reload is a real watcher's gap: it gets a grace a loaded machine's Chromium reload fits in (it took over 2 s in a CI run).
describe('dashboard: a reload within the grace, one built service, default scrape pool', () => {
  const RELOAD_GRACE_MS = 8_000;
  let db: TestDatabase;
  let service: Service;
  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startService('reload', db, RELOAD_GRACE_MS);
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  it('a tab reloaded mid-run comes back within the grace: the run is not lost and completes', async () => {
    const tab = await openTab(browser, service.url, '/');
    try {
      await waitDashboardLoaded(tab.page);
      const runId = await scrapeNow(tab.page);
      const run = await runOf(service, runId);
      expect(run.trigger).toBe('api-stream');
      await waitAllInFlight(tab.page, runId, run.platforms, await pagedPlatforms(service));
      await expectAllInFlight(service, runId);
      const reloadedAt = Date.now();
      await tab.page.reload();
      await waitConnected(tab.page);
      await tab.page.locator(`[data-testid="live-run-panel"][data-run-id="${runId}"]`).waitFor({ timeout: 5_000 });

      const ended = await waitForRun(service, runId, TERMINAL);
      expect(ended.status).toBe('completed');
      // The service saw the run unwatched during the reload, and watched again within the grace...
      const started = guardLines(service, runId, GRACE_STARTED);
      expect(started).toHaveLength(1);
      const cancelled = await waitFor(() => {
        const lines = service.logs.slice(service.logs.indexOf(started[0]!)).filter((line) => line.run_id === runId && line.msg === GRACE_CANCELLED);
        return lines.length ? lines : undefined;
      }, { what: 'the grace cancelled after the reload' });
      expect(cancelled).toHaveLength(1);
      expect(cancelled[0]!.unwatched_ms).toBeLessThan(RELOAD_GRACE_MS);
      // ...and the run went on well past the grace counted from the reload: only the returning tab kept it.
      expect(Date.parse(ended.finishedAt!) - reloadedAt).toBeGreaterThan(RELOAD_GRACE_MS);
      await tab.page.locator(`[data-testid="live-run-panel"][data-run-id="${runId}"] [data-testid="run-progress"][data-status="completed"]`).waitFor({ timeout: 10_000 });
      expect(tab.runPosts).toHaveLength(1); // the Scrape now click; the reload started nothing
      expect(await connectionFailures(service)).toBe(0);
      expect(tab.pageErrors).toEqual([]);
      console.log(`[e2e connectionLoss] reload: unwatched ${String(cancelled[0]!.unwatched_ms)} ms (grace ${RELOAD_GRACE_MS} ms); the run completed ${Date.parse(ended.finishedAt!) - reloadedAt} ms after the reload`);
    } finally {
      await tab.close();
    }
  }, 90_000);
});

describe('dashboard: connection loss across two built replicas, default scrape pool', () => {
  let db: TestDatabase;
  let a: Service;
  let b: Service;
  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startService('A', db); // the first applies the migrations
    b = await startService('B', db);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('the run executes on A, its last watcher is a tab on B: closing that tab mid-run ends the run connection_failed on A; a new tab on B retries it', async () => {
    const tabs: Tab[] = [];
    try {
      // The watcher on B first, then a tab on A starts the observed run (it executes on A).
      const onB = await openTab(browser, b.url, '/');
      tabs.push(onB);
      await waitDashboardLoaded(onB.page);
      const onA = await openTab(browser, a.url, '/');
      tabs.push(onA);
      await waitDashboardLoaded(onA.page);
      const lostId = await scrapeNow(onA.page);
      const watched = await runOf(a, lostId);
      expect(watched.trigger).toBe('api-stream');
      await waitFor(() => a.logs.find((line) => line.run_id === lostId && line.msg === 'run started'), { what: 'the run to start on A' });
      expect(b.logs.some((line) => line.run_id === lostId && line.msg === 'run started')).toBe(false);
      const paged = await pagedPlatforms(a);
      await waitAllInFlight(onB.page, lostId, watched.platforms, paged);

      // The tab on A goes: A has no watcher of its own left, but the tab on B still watches (presence).
      await onA.page.close();
      await waitFor(async () => (await globalSubscribers(a)) === 0, { what: 'A to see its own watcher gone' });
      expect(guardLines(a, lostId, GRACE_STARTED), 'a watcher on another replica keeps the run watched').toHaveLength(0);
      await expectAllInFlight(a, lostId);

      // Then the tab on B goes, mid-run.
      const closedAt = Date.now();
      await onB.page.close();
      const lostRun = await waitForRun(b, lostId, TERMINAL);
      const lostAfterMs = Date.parse(lostRun.finishedAt!) - closedAt;
      const lost = await expectLost(a, lostId, lostAfterMs, watched.platforms, paged);
      // The grace, plus at most one of A's reads of the other replicas' watchers (1 s).
      expect(lostAfterMs).toBeLessThan(GRACE_MS + 2_500);
      expect(guardLines(a, lostId, GRACE_STARTED)).toHaveLength(1);
      expect(b.logs.some((line) => line.run_id === lostId && line.actor === 'connection_guard')).toBe(false);
      expect(await connectionFailures(a)).toBe(1);
      expect(await connectionFailures(b)).toBe(0);
      console.log(`[e2e connectionLoss] two replicas: tab on B closed -> run on A connection_failed ${lostAfterMs} ms (grace ${GRACE_MS} ms), ${lost.steps.length} platforms stopped in flight`);

      // A new tab on B: Connection lost, and one retry, started through B (it executes there) and completed.
      const again = await openTab(browser, b.url, '/');
      tabs.push(again);
      await waitDashboardLoaded(again.page);
      const lostRow = again.page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${lostId}"]`);
      await lostRow.waitFor();
      expect((await lostRow.locator('[data-testid="status-badge"]').textContent())?.trim()).toBe('Connection lost');
      const retried = await waitFor(
        async () => {
          const runs = (await allRuns(b)).filter((run) => run.retryOf === lostId);
          return runs.length ? runs : undefined;
        },
        { timeoutMs: 10_000, what: `a retry of run ${lostId}` },
      );
      expect(retried).toHaveLength(1);
      const retryId = retried[0]!.id;
      expect(retried[0]!.trigger).toBe('retry');
      expect(again.runPosts).toHaveLength(1);
      await again.page.locator(`[data-testid="live-run-panel"][data-run-id="${retryId}"] [data-testid="run-progress"][data-status="completed"]`).waitFor({ timeout: 30_000 });
      expect((await waitForRun(a, retryId, TERMINAL)).status).toBe('completed');
      expect(b.logs.some((line) => line.run_id === retryId && line.msg === 'run started')).toBe(true);

      for (const tab of tabs) expect(tab.pageErrors).toEqual([]);
    } finally {
      for (const tab of tabs) await tab.close();
    }
  }, 150_000);
});
