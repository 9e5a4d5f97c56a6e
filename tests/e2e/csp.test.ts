import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, launchBrowser, openTab, testId, waitDashboardLoaded, waitFor, type Tab } from './support.js';

/**
 * The built dashboard under the service's Content-Security-Policy: every view and interaction that
 * renders dynamic content (live progress, toasts, the token prompt, run detail, runs list) with zero
 * violations reported by Chromium (securitypolicyviolation events and console reports).
 */
const TOKEN = 'csp-test-operator-token-1234';
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer({ OPERATOR_TOKEN: TOKEN, SCHEDULER_ENABLED: 'true' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Records securitypolicyviolation events from before the first script runs. */
const RECORD_VIOLATIONS = `(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__csp.push({ directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample, source: event.sourceFile + ':' + event.lineNumber });
  });
})();`;

describe('Content-Security-Policy', () => {
  it('the built dashboard runs under it without a single violation', async () => {
    const consoleReports: string[] = [];
    let tab: Tab | undefined;
    try {
      tab = await openTab(browser, server.url, '/', undefined, async (page) => {
        await page.addInitScript({ content: RECORD_VIOLATIONS });
        page.on('console', (message) => {
          if (/Content Security Policy|Refused to/i.test(message.text())) consoleReports.push(message.text());
        });
      });
      const { page } = tab;
      const response = await page.request.get('/');
      expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
      await waitDashboardLoaded(page);

      // Scrape now needs the token: the prompt opens, takes it, and the run streams live.
      await testId(page, 'scrape-now').click();
      await testId(page, 'token-input').fill(TOKEN);
      await testId(page, 'token-submit').click();
      await testId(page, 'run-progress').waitFor({ timeout: 10_000 });
      const run = await waitFor(async () => {
        const active = (await (await server.api('/api/runs?limit=1')).json()) as { items: RunDetail[] };
        const latest = active.items[0];
        return latest && ['completed', 'partial', 'failed'].includes(latest.status) ? latest : undefined;
      }, { timeoutMs: 20_000, what: 'the run to finish' });

      await testId(page, 'scheduler-pause').click();
      await testId(page, 'scheduler-resume').waitFor({ timeout: 10_000 });
      await testId(page, 'scheduler-resume').click();
      await testId(page, 'scheduler-pause').waitFor({ timeout: 10_000 });

      await testId(page, 'nav-runs').click();
      await testId(page, 'runs-table').waitFor({ timeout: 10_000 });
      await page.goto(`/runs/${run.id}`);
      await testId(page, 'run-detail-view').waitFor({ timeout: 10_000 });
      await page.goto('/no/such/view');
      await testId(page, 'not-found-view').waitFor({ timeout: 10_000 });

      const violations = await page.evaluate('window.__csp');
      expect(violations).toEqual([]);
      expect(consoleReports).toEqual([]);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab?.close();
    }
  });

  it('blocks what it should: an injected inline script is refused and reported', async () => {
    const tab = await openTab(browser, server.url, '/', undefined, async (page) => {
      await page.addInitScript({ content: RECORD_VIOLATIONS });
    });
    try {
      await waitDashboardLoaded(tab.page);
      await tab.page.evaluate(`(() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.appendChild(s); })()`);
      await waitFor(async () => ((await tab.page.evaluate('window.__csp.length')) as number) > 0, { timeoutMs: 5_000, what: 'the violation report' });
      expect(await tab.page.evaluate('window.__ran === true')).toBe(false);
      expect(await tab.page.evaluate('window.__csp[0].directive')).toMatch(/^script-src/);
    } finally {
      await tab.close();
    }
  });
});
