import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import type { RunPage, RunStatus, RunSummary } from '../../src/shared/contract.js';
import type { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** Shared browser and page helpers of the end-to-end suite (Debian's Chromium driven by playwright-core). */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOT_DIR = path.join(ROOT, 'test-artifacts', 'screenshots');
const RECORDER = fileURLToPath(new URL('./pageRecorder.js', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The service serves dashboard/dist: build it (and the service) when older than their sources. */
export function ensureBuilt(): void {
  execSync('node scripts/build-if-stale.mjs', { cwd: ROOT, stdio: 'inherit' });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A free loopback port, for a server that must come back on the same address after a restart. */
export { freeLoopbackPort as freePort } from '../../src/net.js';

export interface StepRecord {
  at: number;
  runId: number;
  platform: string;
  status: string;
  elapsed: string | null;
  eventsSoFar: number | null;
  events: number | null;
  text: string;
}
export interface ConnectionRecord {
  at: number;
  state: string;
  retryCount: number;
}
export interface ToastRecord {
  at: number;
  kind: string;
  text: string;
}

/** One browser tab on the dashboard, with what it did on the network and what it showed over time. */
export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Every request to the global stream (GET /api/events), in order. */
  streamRequests: Request[];
  /** POST /api/runs requests (Scrape now, retries). */
  runPosts: Request[];
  /** Uncaught exceptions in the page. */
  pageErrors: Error[];
  steps(): Promise<StepRecord[]>;
  connection(): Promise<ConnectionRecord[]>;
  toasts(): Promise<ToastRecord[]>;
  mixedAt(): Promise<{ at: number; runId: number; statuses: string[] }[]>;
  eventSourcesCreated(): Promise<number>;
  eventSourcesOpen(): Promise<number>;
  close(): Promise<void>;
}

/** Opens a tab (its own context, so its own sessionStorage) on `baseUrl + path`. */
export async function openTab(
  browser: Browser,
  baseUrl: string,
  urlPath = '/',
  viewport = { width: 1280, height: 900 },
  /** Runs before the first navigation (routes, init scripts). */
  prepare?: (page: Page) => Promise<void>,
): Promise<Tab> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl });
  await context.addInitScript({ path: RECORDER });
  const page = await context.newPage();
  const streamRequests: Request[] = [];
  const runPosts: Request[] = [];
  const pageErrors: Error[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/api/events') streamRequests.push(request);
    if (url.pathname === '/api/runs' && request.method() === 'POST') runPosts.push(request);
  });
  page.on('pageerror', (error) => pageErrors.push(error));
  // A Content-Security-Policy violation is a page error too: every test asserting none fails on one.
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) pageErrors.push(new Error(`CSP violation: ${message.text()}`));
  });
  const read = <T>(expression: string) => page.evaluate(expression) as Promise<T>;
  try {
    await prepare?.(page);
    await page.goto(urlPath);
  } catch (error) {
    await context.close();
    throw error;
  }
  return {
    context,
    page,
    streamRequests,
    runPosts,
    pageErrors,
    steps: () => read('window.__e2e.steps'),
    connection: () => read('window.__e2e.connection'),
    toasts: () => read('window.__e2e.toasts'),
    mixedAt: () => read('window.__e2e.mixedAt'),
    eventSourcesCreated: () => read('window.__e2e.eventSources.length'),
    eventSourcesOpen: () => read('window.__e2e.openEventSources()'),
    close: () => context.close(),
  };
}

const byTestId = (page: Page, testid: string) => page.locator(`[data-testid="${testid}"]`);
export { byTestId as testId };

/** Waits until the tab's live stream is connected (the connection indicator says so). */
export async function waitConnected(page: Page, timeoutMs = 10_000): Promise<void> {
  await byTestId(page, 'connection-indicator').and(page.locator('[data-state="connected"]')).waitFor({ timeout: timeoutMs });
}

/** Waits until the dashboard's REST snapshot is on screen (recent runs and scheduler no longer "Loading…"). */
export async function waitDashboardLoaded(page: Page, timeoutMs = 10_000): Promise<void> {
  await waitConnected(page, timeoutMs);
  // Locators, not waitForFunction(string): the service's CSP forbids the eval a string predicate needs.
  for (const id of ['recent-runs', 'scheduler-card', 'platforms-card']) {
    await byTestId(page, id).filter({ hasNotText: 'Loading…' }).waitFor({ timeout: timeoutMs });
  }
}

const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) blocks addScriptTag, rightly.
  await page.evaluate(readFileSync(AXE, 'utf8'));
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: AxeViolation[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A full-page PNG in test-artifacts/screenshots/ (git ignores test-artifacts/). Returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // The shared clock ticks and spinners spin: settle fonts and layout, then capture.
  await page.evaluate('document.fonts.ready');
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** Every run the service holds, newest first (follows the cursor). */
export async function allRuns(server: TestServer): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
    const page = (await (await server.api(`/api/runs${query}`)).json()) as RunPage;
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

/** Sets every simulated feed's knobs (and per-platform overrides). */
export function setFeeds(server: TestServer, all: Parameters<NonNullable<TestServer['platforms']['simulated']>['set']>[1], each: Record<string, Parameters<NonNullable<TestServer['platforms']['simulated']>['set']>[1]> = {}): void {
  const feeds = server.platforms.simulated!;
  for (const name of server.platforms.names) feeds.set(name, { ...all, ...each[name] });
}

export const TERMINAL: RunStatus[] = ['completed', 'partial', 'failed', 'connection_failed'];

/**
 * Asserts that `check` keeps holding for `forMs` (polled): for "nothing more happens" after the thing that
 * could have caused it was observed. Throws on the first poll where it does not hold.
 */
export async function holdsFor(check: () => Promise<boolean> | boolean, forMs: number, what: string): Promise<void> {
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    if (!(await check())) throw new Error(`no longer true: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!(await check())) throw new Error(`no longer true: ${what}`);
}

export { waitFor };
