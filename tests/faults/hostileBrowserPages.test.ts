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
async function step(path: string): Promise<{ outcome: string; ms: number; events: number }> {
  const adapter = createAdapter(parsePlatformEntry({ name: path.slice(1), kind: 'browser', url: `${origin}${path}`, waitTimeoutMs: 3_000, timeoutMs: TIMEOUT_MS, dom: DOM }, TIMEOUT_MS, {}), browsers);
  const started = performance.now();
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  try {
    const events = await adapter.scrape(timeout, async () => {}, IGNORE_OBSERVATIONS);
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
    // Within its own timeout, with the time its page takes to close (or its browser to be killed) on top.
    expect(hostile.ms).toBeLessThan(TIMEOUT_MS + 6_000);
    expect(beside).toMatchObject({ outcome: 'completed', events: 1 });
    expect(after).toMatchObject({ outcome: 'completed', events: 1 });
    expect(browsers.pagesOpen()).toBe(0);
  });
});
