import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IGNORE_OBSERVATIONS, PlatformError } from '../../src/platforms/adapter.js';
import { BrowserPool } from '../../src/platforms/browser/browserPool.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { parsePlatformEntry } from '../../src/platforms/platformsFile.js';
import type { BrowserRestartCause } from '../../src/telemetry/metrics.js';
import { recordFault } from './report.js';

/**
 * Hostile pages in real Chromium, each scraped beside a well-behaved platform on the same pool (as one run
 * scrapes them): a script in an endless loop, one that allocates until it dies, window.open and alert
 * storms. Each hostile step ends within its timeout with a reason, the good platform beside it completes,
 * and the pool serves a good page afterwards.
 */

const CARD = '<div class="event-card" data-id="1"><span class="home">H</span><span class="away">A</span><button class="price" data-selection="home">2.0</button></div>';
const PAGES: Record<string, string> = {
  '/good': `<!doctype html><main>${CARD}</main>`,
  '/endless-loop': '<!doctype html><main id="app"></main><script>for (;;) {}</script>',
  '/endless-loop-later': `<!doctype html><main id="app"></main><script>setTimeout(() => { for (;;) {} }, 50);</script>`,
  '/memory-bomb': '<!doctype html><script>const kept = []; for (;;) kept.push(new Array(1e6).fill(Math.random()));</script>',
  '/window-open-storm': `<!doctype html><main>${CARD}</main><script>setInterval(() => { for (let i = 0; i < 50; i += 1) window.open('/good', '_blank'); }, 5);</script>`,
  // The card arrives 8.5 s after the page loads: a slow bookmaker still on the browser when a hostile page beside it is given up.
  '/late-card': `<!doctype html><main></main><script>setTimeout(() => { document.querySelector('main').innerHTML = '${CARD}'; }, 8_500);</script>`,
  '/alert-storm': `<!doctype html><main>${CARD}</main><script>setInterval(() => { alert('win'); confirm('sure?'); prompt('name'); }, 1);</script>`,
};

const DOM = {
  waitFor: '.event-card',
  rows: { event: '.event-card', id: { selector: '', attribute: 'data-id' }, home: '.home', away: '.away', markets: [{ name: 'match_result', each: 'button.price', selection: { selector: '', attribute: 'data-selection' }, price: { selector: '' } }] },
};
const TIMEOUT_MS = 8_000;

let server: http.Server;
let origin: string;
let browsers: BrowserPool;
const restarts: BrowserRestartCause[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const page = PAGES[new URL(request.url ?? '/', 'http://x').pathname];
    if (page === undefined) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browsers = new BrowserPool({ executablePath: undefined, maxPages: 4, recyclePages: 100, maxMemoryBytes: 4 * 1024 ** 3, logger: pino({ level: 'silent' }) });
  browsers.attach({ browserPageClosed() {}, browserRestarted: (cause) => void restarts.push(cause), observeBrowser() {} });
});
afterAll(async () => {
  await browsers?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

/** Scrapes `path` as a platform would: its own timeout, its outcome and how long it took. */
async function step(path: string, { timeoutMs = TIMEOUT_MS, waitTimeoutMs = 3_000, onProgress = () => {} } = {}): Promise<{ outcome: string; ms: number; events: number }> {
  const adapter = createAdapter(parsePlatformEntry({ name: path.slice(1), kind: 'browser', url: `${origin}${path}`, waitTimeoutMs, timeoutMs, dom: DOM }, timeoutMs, {}), browsers);
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const events = await adapter.scrape(timeout, async () => onProgress(), IGNORE_OBSERVATIONS);
    return { outcome: 'completed', ms: performance.now() - started, events };
  } catch (error) {
    const outcome = timeout.aborted ? 'timeout' : error instanceof PlatformError ? error.reason : `unclassified: ${String(error)}`;
    return { outcome, ms: performance.now() - started, events: 0 };
  }
}

describe('hostile browser pages', () => {
  it.each([
    ['/endless-loop', ['timeout', 'layout']],
    ['/endless-loop-later', ['timeout', 'layout']],
    ['/memory-bomb', ['browser', 'timeout']],
    ['/window-open-storm', ['completed']],
    ['/alert-storm', ['completed']],
  ])('%s: ends within its timeout with %j, the platform beside it completes, the pool recovers', async (path, outcomes) => {
    const [hostile, beside] = await Promise.all([step(path), step('/good')]);
    const after = await step('/good');
    recordFault({
      name: `hostile browser page ${path}`,
      endState: `${hostile.outcome} after ${Math.round(hostile.ms)} ms; the platform beside it ${beside.outcome}; the next page ${after.outcome}; browser restarts so far: ${restarts.join(', ') || 'none'}`,
      figure: { hostile_ms: Math.round(hostile.ms), beside_ms: Math.round(beside.ms), after_ms: Math.round(after.ms) },
    });
    expect(outcomes).toContain(hostile.outcome);
    // Within its own timeout, with the time its page takes to close (at most 5 s before its browser is retired) on top.
    expect(hostile.ms).toBeLessThan(TIMEOUT_MS + 6_000);
    expect(beside).toMatchObject({ outcome: 'completed', events: 1 });
    expect(after).toMatchObject({ outcome: 'completed', events: 1 });
    expect(browsers.pagesOpen()).toBe(0);
  });

  it('a browser too slow to close a page is retired without taking the slow platform beside it down; the next page gets a new browser', async () => {
    // As on an overloaded machine: the browser process stops answering (SIGSTOP) just as the first step
    // closes its page, for longer than a close may take, and answers again while the slow page still waits.
    const before = restarts.length;
    let resumed: Promise<void> | undefined;
    const stopBrowserOnce = () => {
      if (resumed) return;
      const pid = browserPid();
      process.kill(pid, 'SIGSTOP');
      resumed = new Promise((resolve) => setTimeout(() => resolve(process.kill(pid, 'SIGCONT') && undefined), 6_000));
    };
    const [first, beside] = await Promise.all([step('/good', { onProgress: stopBrowserOnce }), step('/late-card', { timeoutMs: 14_000, waitTimeoutMs: 12_000 })]);
    await resumed;
    const after = await step('/good');
    recordFault({
      name: 'browser too slow to close a page, a slow platform beside it',
      endState: `first ${first.outcome} after ${Math.round(first.ms)} ms; the slow platform beside it ${beside.outcome} after ${Math.round(beside.ms)} ms; the next page ${after.outcome}; restarts: ${restarts.slice(before).join(', ') || 'none'}`,
      figure: { first_ms: Math.round(first.ms), beside_ms: Math.round(beside.ms), after_ms: Math.round(after.ms) },
    });
    expect(restarts.slice(before)).toEqual(['unresponsive']);
    expect(first).toMatchObject({ outcome: 'completed', events: 1 });
    expect(beside).toMatchObject({ outcome: 'completed', events: 1 });
    expect(first.ms).toBeLessThan(beside.ms);
    expect(after).toMatchObject({ outcome: 'completed', events: 1 });
    expect(browsers.pagesOpen()).toBe(0);
  });
});

/** The pid of this process's one Chromium browser process (the pool launches it as a child of this process). */
function browserPid(): number {
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((name) => {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid && /chrom/i.test(readlinkSync(`/proc/${name}/exe`));
    } catch {
      return false;
    }
  });
  expect(pids).toHaveLength(1);
  return Number(pids[0]);
}
