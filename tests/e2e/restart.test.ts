import type { Browser, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, SchedulerState } from '../../src/shared/contract.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, freePort, launchBrowser, openTab, testId, waitConnected, waitDashboardLoaded, waitFor, type Tab } from './support.js';

let db: TestDatabase;
let env: Record<string, string>;
let server: TestServer | undefined;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  // Its own database and a fixed port, so the restarted service is the same service at the same address.
  db = await createTestDatabase();
  env = { PORT: String(await freePort()), SHUTDOWN_GRACE_MS: '2000' };
  server = await startTestServer(env, db);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.drop();
});

describe('dashboard: service restart', () => {
  it('shows the connection going down and back up, then what happened meanwhile, without a reload', async () => {
    let tab: Tab | undefined;
    try {
      tab = await openTab(browser, server!.url, '/');
      const { page } = tab;
      await waitDashboardLoaded(page);

      // A run before the restart, so the page holds a stream cursor (it resumes with ?lastEventId=).
      const before = (await (await server!.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
      await page.locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${before.id}"][data-status="completed"]`).waitFor({ timeout: 10_000 });
      await page.evaluate('window.__e2eSamePage = true'); // gone if anything reloads the page
      expect(await testId(page, 'scheduler-card').getAttribute('data-paused')).toBe('false');

      // While the service is away and until the test has changed things on the new one, the page's reconnects
      // are refused, as they would be by a service that is not up yet. This only fixes the order of events:
      // the page must learn what happened from its own reconnect, not from a stream that came back early.
      let blocking = true;
      let refused = 0;
      await page.route(
        (url) => url.pathname === '/api/events',
        async (route: Route) => {
          if (!blocking) return route.continue();
          refused += 1;
          return route.abort('connectionrefused');
        },
      );

      await server!.close(); // graceful shutdown: the service ends its streams (server_shutdown)
      server = undefined;
      const indicator = testId(page, 'connection-indicator');
      await page.locator('[data-testid="connection-indicator"]:not([data-state="connected"])').waitFor({ timeout: 5_000 });

      server = await startTestServer(env, db);
      const response = await server.api('/api/runs', { method: 'POST', json: {} });
      expect(response.status).toBe(202);
      const during = (await response.json()) as RunDetail;
      expect(during.id).toBeGreaterThan(before.id);
      await server.waitForRun(during.id, ['completed']);
      expect((await server.api('/api/scheduler/pause', { method: 'POST' })).status).toBe(200);

      // The page tried (and was refused) at least once while we did that: it is still not connected.
      await waitFor(() => refused >= 1, { timeoutMs: 10_000, what: 'a refused reconnect attempt' });
      expect(await indicator.getAttribute('data-state')).not.toBe('connected');
      expect(await page.locator(`[data-testid="run-row"][data-run-id="${during.id}"]`).count()).toBe(0);
      blocking = false;

      // Back to connected by itself (backoff), then the stores show the run and the pause it missed.
      await waitConnected(page, 20_000);
      await page
        .locator(`[data-testid="recent-runs"] [data-testid="run-row"][data-run-id="${during.id}"][data-status="completed"]`)
        .waitFor({ timeout: 10_000 });
      await page.locator('[data-testid="scheduler-card"][data-paused="true"]').waitFor({ timeout: 5_000 });
      expect(await page.evaluate('window.__e2eSamePage === true')).toBe(true);
      const paused = (await (await server.api('/api/scheduler')).json()) as SchedulerState;
      expect(paused.paused).toBe(true);

      // The indicator went connected -> disconnected/error, through connecting (the retries), -> connected.
      const states = (await tab.connection()).map((record) => record.state);
      console.log(`connection indicator: ${states.join(' -> ')}`);
      const firstUp = states.indexOf('connected');
      const down = states.findIndex((state, index) => index > firstUp && state !== 'connected');
      expect(firstUp, states.join(' ')).toBeGreaterThanOrEqual(0);
      expect(down, states.join(' ')).toBeGreaterThan(firstUp);
      expect(['disconnected', 'error']).toContain(states[down]);
      expect(states.slice(down), states.join(' ')).toContain('connecting');
      expect(states.at(-1)).toBe('connected');
      expect(Math.max(...(await tab.connection()).map((record) => record.retryCount))).toBeGreaterThanOrEqual(1);

      // Still one EventSource at a time: the old one closed, each retry a new one, and the last resumed from its cursor.
      expect(await tab.eventSourcesOpen()).toBe(1);
      const streams = tab.streamRequests.map((request) => new URL(request.url()));
      expect(streams.length).toBeGreaterThanOrEqual(3); // first connect, at least one refused retry, the reconnect
      const resumedFrom = Number(streams.at(-1)!.searchParams.get('lastEventId'));
      expect(resumedFrom).toBeGreaterThan(0);
      expect(tab.pageErrors).toEqual([]);

      await server.api('/api/scheduler/resume', { method: 'POST' });
    } finally {
      await tab?.close();
    }
  }, 60_000);
});
