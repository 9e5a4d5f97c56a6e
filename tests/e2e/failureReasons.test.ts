import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, StepFailureReason } from '../../src/shared/contract.js';
import { startHostileFeed, type HostileFeed } from '../helpers/hostileFeed.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { ensureBuilt, freePort, launchBrowser, openTab, screenshot, testId } from './support.js';

/**
 * A run whose every platform fails, each its own way, on the run page: each step row says why in words.
 * The service reads a PLATFORMS_FILE whose entries point at loopback servers that misbehave (and at a port
 * nothing listens on, and at the cloud metadata address).
 */

const KEY_VARIABLE = 'FAILURE_REASONS_ODDS_API_KEY';
/** The step row's words for each reason (dashboard/src/lib/status.ts), as a user reads them. */
const LABELS: Partial<Record<StepFailureReason, string>> = {
  http_5xx: 'HTTP 5xx',
  http_4xx: 'HTTP 4xx',
  rate_limited: 'rate limited (429)',
  blocked: 'blocked (403 or challenge)',
  too_large: 'response too large',
  parse: 'unreadable response',
  timeout: 'timed out',
  network: 'network error',
  forbidden_address: 'forbidden address',
  quota_exhausted: 'quota exhausted',
};

let dir: string;
let feed: HostileFeed;
let oddsApi: { url: string; close(): Promise<void> };
let server: TestServer;
let browser: Browser;
/** Platform name -> the reason its step must fail with. */
let expected: Record<string, StepFailureReason>;

/** An odds API whose quota is used up: 401 with the API's OUT_OF_USAGE_CREDITS, as The Odds API answers. */
async function startQuotaExhaustedApi(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const api = http.createServer((_request, response) => {
    response
      .writeHead(401, { 'content-type': 'application/json', 'x-requests-remaining': '0', 'x-requests-used': '500' })
      .end(JSON.stringify({ message: 'Usage quota has been reached.', error_code: 'OUT_OF_USAGE_CREDITS' }));
  });
  api.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => api.close(() => resolve()));
    },
  };
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-reasons-'));
  feed = await startHostileFeed();
  oddsApi = await startQuotaExhaustedApi();
  const nothingListens = await freePort();
  // The service reads the key from its environment when it reads PLATFORMS_FILE.
  process.env[KEY_VARIABLE] = 'reasons-test-key';
  const platforms = [
    { name: 'error-500', baseUrl: `${feed.url}/error500`, reason: 'http_5xx' },
    { name: 'error-404', baseUrl: `${feed.url}/error404`, reason: 'http_4xx' },
    { name: 'throttled-429', baseUrl: `${feed.url}/error429`, reason: 'rate_limited' },
    { name: 'forbidden-403', baseUrl: `${feed.url}/error403`, reason: 'blocked' },
    { name: 'challenge-page', baseUrl: `${feed.url}/challenge`, reason: 'blocked' },
    { name: 'oversized', baseUrl: `${feed.url}/huge`, maxResponseBytes: 64 * 1024, reason: 'too_large' },
    { name: 'invalid-json', baseUrl: `${feed.url}/invalid-json`, reason: 'parse' },
    { name: 'hangs', baseUrl: `${feed.url}/hang`, timeoutMs: 1_500, reason: 'timeout' },
    { name: 'refused', baseUrl: `http://127.0.0.1:${nothingListens}`, reason: 'network' },
    { name: 'metadata', baseUrl: 'http://169.254.169.254', reason: 'forbidden_address' },
    {
      name: 'quota-used-up',
      kind: 'odds-api',
      baseUrl: oddsApi.url,
      sport: 'soccer_epl',
      regions: 'uk',
      apiKey: { env: KEY_VARIABLE },
      reason: 'quota_exhausted',
    },
  ] as const;
  expected = Object.fromEntries(platforms.map((p) => [p.name, p.reason]));
  const file = path.join(dir, 'platforms.json');
  writeFileSync(file, JSON.stringify(platforms.map(({ reason: _reason, ...entry }) => ({ timeoutMs: 10_000, ...entry }))));
  server = await startTestServer({ PLATFORMS_FILE: file, SCRAPE_CONCURRENCY: String(platforms.length) });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await feed?.close();
  await oddsApi?.close();
  delete process.env[KEY_VARIABLE];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('step failure reasons', () => {
  it("shows on the run page why each platform's step failed, one reason per way a platform can fail", async () => {
    const created = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
    const run = await server.waitForRun(created.id, ['failed', 'partial', 'completed'], 30_000);
    expect(run.status).toBe('failed');
    // The service's own verdict first: every step failed, each for its own reason.
    expect(Object.fromEntries(run.steps.map((step) => [step.platform, step.reason]))).toEqual(expected);
    expect(new Set(Object.values(expected))).toEqual(new Set(Object.keys(LABELS)));

    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      const tab = await openTab(browser, server.url, `/runs/${run.id}`, viewport);
      try {
        const rows = testId(tab.page, 'platform-step');
        await rows.first().waitFor({ timeout: 10_000 });
        expect(await rows.count()).toBe(Object.keys(expected).length);
        for (const [platform, reason] of Object.entries(expected)) {
          const row = tab.page.locator(`[data-testid="platform-step"][data-platform="${platform}"]`);
          expect(await row.getAttribute('data-step-status'), platform).toBe('failed');
          const tag = row.locator('[data-testid="step-reason"]');
          expect(await tag.getAttribute('data-reason'), platform).toBe(reason);
          expect(await tag.textContent(), platform).toBe(LABELS[reason]);
          expect(await tag.isVisible(), platform).toBe(true);
          // The step's own error below it, in the row.
          expect((await row.locator('[data-testid="step-error"]').textContent())?.length, platform).toBeGreaterThan(0);
        }
        // Nothing sticks out sideways on a phone.
        expect(await tab.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
        await screenshot(tab.page, `run-failure-reasons-${viewport.width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  }, 90_000);
});
