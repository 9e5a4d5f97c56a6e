import type { Browser, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, holdsFor, launchBrowser, openTab, screenshot, setFeeds, testId, waitDashboardLoaded, waitFor, type Tab } from './support.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  // The platform timeout shortened so the hanging feed times out sooner (long enough for a cold Chromium and
  // the browser platforms' pages); the scrape pool keeps its defaults.
  server = await startTestServer({
    PLATFORM_TIMEOUT_MS: '20000',
    TRACE_URL_TEMPLATE: 'http://grafana.test/explore?traceId={traceId}',
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The others complete, redfox fails (HTTP 503), bluepeak hangs until its 20 s timeout. */
function mixedOutcomes() {
  setFeeds(server, { latencyMs: 250, pages: 3, eventsPerPage: 6, failureRate: 0, hang: false }, { redfox: { failureRate: 1 }, bluepeak: { hang: true } });
}

/** The tab's REST requests (everything under /api but its one stream), recorded from now on. */
function recordRest(tab: Tab): Request[] {
  const seen: Request[] = [];
  tab.page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/api/') && url.pathname !== '/api/events') seen.push(request);
  });
  return seen;
}

/** Waits until the tab has made no REST request for `quietMs` (its first snapshot and start-up checks are done). */
async function settled(tab: Tab, quietMs = 1000): Promise<void> {
  const requests = recordRest(tab);
  await waitFor(async () => {
    const before = requests.length;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    return requests.length === before || undefined;
  }, { timeoutMs: 15_000, what: 'the tab to stop making REST requests' });
}

describe('dashboard: a run from the stream alone, and its timeline', () => {
  let runId = 0;

  it('a connected tab makes zero REST requests during one whole run after its first snapshot', async () => {
    mixedOutcomes();
    const tab = await openTab(browser, server.url, '/');
    const mobile = await openTab(browser, server.url, '/', { width: 390, height: 844 });
    try {
      await Promise.all([waitDashboardLoaded(tab.page), waitDashboardLoaded(mobile.page)]);
      await Promise.all([settled(tab), settled(mobile)]);
      const rest = recordRest(tab);
      const restMobile = recordRest(mobile);

      // Started elsewhere (not by this tab), so every request it would make is one the stream should have spared.
      const response = await server.api('/api/runs', { method: 'POST', json: {} });
      expect(response.status).toBe(202);
      runId = ((await response.json()) as RunDetail).id;

      const panel = tab.page.locator(`[data-testid="live-run-panel"][data-run-id="${runId}"]`);
      await panel.locator('[data-testid="timeline-bar"][data-outcome="running"]').first().waitFor({ timeout: 10_000 });
      await panel.locator('[data-testid="timeline-bar"][data-outcome="completed"]').first().waitFor({ timeout: 10_000 });
      await screenshot(tab.page, 'timeline-dashboard-mid-run-1280');
      await screenshot(mobile.page, 'timeline-dashboard-mid-run-390');

      const finished = await server.waitForRun(runId, ['partial'], 40_000);
      await panel.locator('[data-testid="run-progress"][data-status="partial"]').waitFor({ timeout: 5_000 });
      await mobile.page.locator('[data-testid="run-progress"][data-status="partial"]').waitFor({ timeout: 5_000 });
      // The final steps came with run.finished: what the card shows is the server's final word.
      for (const step of finished.steps) {
        const row = panel.locator(`[data-testid="platform-step"][data-platform="${step.platform}"]`);
        expect(await row.getAttribute('data-step-status'), step.platform).toBe(step.status);
      }
      // A late, coalesced refetch would show up within this window.
      await holdsFor(() => rest.length === 0 && restMobile.length === 0, 2000, 'no REST request after the run finished');
      console.log(`REST requests during run #${runId} after the first snapshot: ${rest.length} (1280 px tab), ${restMobile.length} (390 px tab)`);
      expect(rest.map((r) => `${r.method()} ${r.url()}`)).toEqual([]);
      expect(restMobile.map((r) => `${r.method()} ${r.url()}`)).toEqual([]);

      await screenshot(tab.page, 'timeline-dashboard-after-run-1280');
      await screenshot(mobile.page, 'timeline-dashboard-after-run-390');
      expect(tab.pageErrors).toEqual([]);
      expect(mobile.pageErrors).toEqual([]);
    } finally {
      await tab.close();
      await mobile.close();
    }
  }, 90_000);

  it('the run page draws one bar per platform with the right outcome colours, and the trace link beside it', async () => {
    expect(runId).toBeGreaterThan(0);
    const run = (await (await server.api(`/api/runs/${runId}`)).json()) as RunDetail;
    const expected = Object.fromEntries(
      run.steps.map((s) => [s.platform, s.status === 'failed' && /timed out/.test(s.error ?? '') ? 'timed_out' : s.status]),
    );
    expect(Object.values(expected).sort(), JSON.stringify(run.steps.map((s) => [s.platform, s.status, s.reason, s.error]))).toEqual([...Array<string>(run.steps.length - 2).fill('completed'), 'failed', 'timed_out']);

    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      const tab = await openTab(browser, server.url, `/runs/${runId}`, viewport);
      try {
        const timeline = testId(tab.page, 'run-timeline');
        await timeline.waitFor({ timeout: 10_000 });
        const bars = timeline.locator('[data-testid="timeline-bar"]');
        expect(await bars.count()).toBe(run.platforms.length);
        const drawn = (await tab.page.evaluate(`[...document.querySelectorAll('[data-testid="timeline-row"]')].map((row) => {
          const bar = row.querySelector('[data-testid="timeline-bar"]');
          const style = getComputedStyle(bar);
          return { platform: row.dataset.platform, outcome: bar.dataset.outcome, color: style.backgroundColor, image: style.backgroundImage, width: bar.getBoundingClientRect().width };
        })`)) as { platform: string; outcome: string; color: string; image: string; width: number }[];
        const COLOURS = { completed: 'rgb(47, 158, 91)', failed: 'rgb(214, 66, 50)' } as Record<string, string>;
        for (const bar of drawn) {
          expect(bar.outcome, bar.platform).toBe(expected[bar.platform]);
          if (bar.outcome === 'timed_out') expect(bar.image, bar.platform).toContain('rgb(194, 65, 12)');
          else expect(bar.color, bar.platform).toBe(COLOURS[bar.outcome]);
          expect(bar.width, `${bar.platform} has a visible bar`).toBeGreaterThan(2);
        }
        // In-process test servers export no traces (no trace id): then the card says there is no link.
        if (run.traceUrl) expect(await testId(tab.page, 'timeline-trace-link').getAttribute('href')).toBe(run.traceUrl);
        else expect(await testId(tab.page, 'timeline-no-trace').textContent()).toBe('No trace link');

        // Keyboard: the first bar takes focus with Tab and shows its tooltip.
        const first = bars.first();
        await first.focus();
        const tip = tab.page.locator(`[data-testid="timeline-row"][data-platform="${run.platforms[0]}"] [data-testid="timeline-tip"]`);
        await tip.waitFor({ state: 'visible', timeout: 2_000 });
        expect(await tip.textContent()).toMatch(/sporting events · took/);
        await screenshot(tab.page, `timeline-run-page-${viewport.width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  }, 60_000);
});
