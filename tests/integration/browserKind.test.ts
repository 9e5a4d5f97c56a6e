import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IGNORE_OBSERVATIONS, PlatformError, type ScrapedSelection } from '../../src/platforms/adapter.js';
import { BrowserPool } from '../../src/platforms/browser/browserPool.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { parsePlatformEntry, PlatformEntryError } from '../../src/platforms/platformsFile.js';
import type { BrowserRestartCause } from '../../src/telemetry/metrics.js';
import { waitFor } from '../helpers/waitFor.js';
import { platformFailure } from '../helpers/platformFailure.js';

/**
 * The `browser` kind in real Chromium against tiny loopback sites, one page each: both extraction modes,
 * actions, the failure reasons with their page capture, what the page may request, and the pool's bounds.
 */

interface Site {
  origin: string;
  /** Requests seen, by path, with their headers. */
  seen: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

async function site(pages: Record<string, string | Handler>): Promise<Site> {
  const seen: Site['seen'] = [];
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    seen.push({ path, headers: request.headers });
    const page = pages[path];
    if (page === undefined) return void response.writeHead(404).end('not found');
    if (typeof page === 'function') return page(request, response);
    const type = path.endsWith('.json') || path.includes('/api/') ? 'application/json' : path.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8';
    response.writeHead(200, { 'content-type': type }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const restarts: BrowserRestartCause[] = [];
const closedPages: number[] = [];
function pool(options: Partial<ConstructorParameters<typeof BrowserPool>[0]> = {}): BrowserPool {
  const created = new BrowserPool({ executablePath: undefined, maxPages: 4, recyclePages: 100, maxMemoryBytes: 4 * 1024 ** 3, logger: pino({ level: 'silent' }), ...options });
  created.attach({ browserPageClosed: (seconds) => void closedPages.push(seconds), browserRestarted: (cause) => void restarts.push(cause), observeBrowser() {} });
  return created;
}

interface Scrape {
  eventsFound: number;
  pages: ScrapedSelection[][];
}

async function scrape(browsers: BrowserPool, entry: Record<string, unknown>, signal = AbortSignal.timeout(30_000)): Promise<Scrape> {
  const adapter = createAdapter(parsePlatformEntry(entry, 20_000, {}), browsers);
  const pages: ScrapedSelection[][] = [];
  const eventsFound = await adapter.scrape(signal, async (progress) => void pages.push(progress.batch), IGNORE_OBSERVATIONS);
  return { eventsFound, pages };
}

const failure = (browsers: BrowserPool, entry: Record<string, unknown>, signal?: AbortSignal): Promise<PlatformError> => platformFailure(scrape(browsers, entry, signal));

/** A single-page app: an empty shell whose script fetches the odds and renders them. */
const SHELL = (script: string) => `<!doctype html><html><head><title>Bet</title></head><body><main id="app">Loading…</main><script src="/app.js"></script></body></html>${script}`;
const APP_JS = `
fetch('/api/prematch?page=1').then((r) => r.json()).then(async (first) => {
  const all = [first];
  if (first.pages > 1) all.push(await (await fetch('/api/prematch?page=2')).json());
  const app = document.getElementById('app');
  app.textContent = '';
  for (const page of all) for (const event of page.events) {
    const card = document.createElement('div');
    card.className = 'event-card';
    card.dataset.id = event.id;
    for (const [cls, text] of [['home', event.home], ['away', event.away]]) {
      const span = document.createElement('span'); span.className = cls; span.textContent = text; card.append(span);
    }
    for (const [selection, price] of Object.entries(event.prices)) {
      const button = document.createElement('button'); button.dataset.selection = selection; button.className = 'price'; button.textContent = price; card.append(button);
    }
    app.append(card);
  }
});`;
const apiPage = (page: number) =>
  JSON.stringify({
    pages: 2,
    events: [1, 2, 3].map((n) => ({ id: `e${page}-${n}`, home: `Home ${page}${n}`, away: `Away ${page}${n}`, prices: { home: '2.10', draw: '3.30', away: '3.75' } })),
  });
const API: Handler = (request, response) => {
  const page = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('page') ?? 1);
  response.writeHead(200, { 'content-type': 'application/json' }).end(apiPage(page));
};
const SELECT = `events.(
  $event := $;
  $keys($event.prices).{ "eventId": $event.id, "home": $event.home, "away": $event.away, "eventName": $event.home & " v " & $event.away,
    "market": "match_result", "selection": $, "price": $lookup($event.prices, $) }
)`;
const DOM = {
  waitFor: '.event-card',
  rows: {
    event: '.event-card',
    id: { selector: '', attribute: 'data-id' },
    home: '.home',
    away: '.away',
    markets: [{ name: 'match_result', each: 'button.price', selection: { selector: '', attribute: 'data-selection' }, price: { selector: '' } }],
  },
};

describe('the browser kind in Chromium', () => {
  let browsers: BrowserPool;
  let spa: Site;
  beforeAll(async () => {
    browsers = pool();
    spa = await site({ '/': SHELL(''), '/app.js': APP_JS, '/api/prematch': API });
  });
  afterAll(async () => {
    await browsers.close();
    await spa.close();
  });

  it('capture mode: maps each JSON response the page fetches, in order', async () => {
    const result = await scrape(browsers, { name: 'spa', kind: 'browser', url: `${spa.origin}/`, capture: '/api/prematch', select: SELECT });
    expect(result.eventsFound).toBe(6);
    expect(result.pages.map((page) => page.length)).toEqual([9, 9]);
    expect(result.pages[0]![0]).toMatchObject({ eventKey: 'e1-1', home: 'Home 11', away: 'Away 11', market: 'match_result', price: expect.any(Number), bookmaker: 'spa' });
  });

  it('capture mode: a /regex/ pattern, and the preview limit of one page', async () => {
    const adapter = createAdapter(parsePlatformEntry({ name: 'spa', kind: 'browser', url: `${spa.origin}/`, capture: '/prematch\\?page=\\d+$/', select: SELECT }, 20_000, {}), browsers);
    const pages: ScrapedSelection[][] = [];
    await adapter.scrape(AbortSignal.timeout(20_000), async (progress) => void pages.push(progress.batch), IGNORE_OBSERVATIONS, 1);
    expect(pages).toHaveLength(1);
  });

  describe('a page that pauses between its pages', () => {
    // Page 1; 900 ms later page 2, then page 3 at once; 700 ms later page 4. The API marks page 3 the last.
    let paged: Site;
    const entry = (extra: Record<string, unknown>) => ({ name: 'paged', kind: 'browser', url: `${paged.origin}/`, capture: '/api/prematch', select: SELECT, ...extra });
    const firstKeys = (result: Scrape) => result.pages.map((page) => page[0]!.eventKey);
    beforeAll(async () => {
      paged = await site({
        '/': `<!doctype html><html><body><script>
          const page = (n) => fetch('/api/prematch?page=' + n);
          const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
          page(1).then(() => pause(900)).then(() => page(2)).then(() => page(3)).then(() => pause(700)).then(() => page(4));
        </script></body></html>`,
        '/api/prematch': (request, response) => {
          const page = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('page'));
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ last: page === 3, ...JSON.parse(apiPage(page)) }));
        },
      });
    });
    afterAll(async () => {
      await paged.close();
    });

    it('captureLast: waits out the pause (past the quiet wait) and ends the step at the last page, before page 4', async () => {
      expect(firstKeys(await scrape(browsers, entry({ captureLast: 'last' })))).toEqual(['e1-1', 'e2-1', 'e3-1']);
    });

    it('captureLast that never holds: the page asking for nothing more for waitTimeoutMs fails the step layout, its pages read', async () => {
      const pages: ScrapedSelection[][] = [];
      const adapter = createAdapter(parsePlatformEntry(entry({ captureLast: 'false', waitTimeoutMs: 2_000 }), 20_000, {}), browsers);
      const failed = await platformFailure(adapter.scrape(AbortSignal.timeout(20_000), async (progress) => void pages.push(progress.batch), IGNORE_OBSERVATIONS));
      expect(failed.reason).toBe('layout');
      expect(failed.message).toMatch(/asked for nothing more within 2000 ms .* after 4 captured responses, none of them the last \(captureLast\)/);
      expect(pages.map((page) => page[0]!.eventKey)).toEqual(['e1-1', 'e2-1', 'e3-1', 'e4-1']);
    });

    it('without captureLast, captureQuietMs sets the quiet wait: 3 s reads every page', async () => {
      expect(firstKeys(await scrape(browsers, entry({ captureQuietMs: 3_000 })))).toEqual(['e1-1', 'e2-1', 'e3-1', 'e4-1']);
    });

    it('refuses captureLast and captureQuietMs where they do not apply', () => {
      expect(() => parsePlatformEntry({ name: 'x', kind: 'browser', url: `${paged.origin}/`, dom: DOM, captureLast: 'last' }, 1_000, {})).toThrow(/captureLast: goes with capture/);
      expect(() => parsePlatformEntry({ name: 'x', kind: 'browser', url: `${paged.origin}/`, dom: DOM, captureQuietMs: 1_000 }, 1_000, {})).toThrow(/captureQuietMs: goes with capture, without captureLast/);
      expect(() => parsePlatformEntry(entry({ captureLast: 'last', captureQuietMs: 1_000 }), 1_000, {})).toThrow(/captureQuietMs: goes with capture, without captureLast/);
      expect(() => parsePlatformEntry(entry({ captureQuietMs: 50 }), 1_000, {})).toThrow(/captureQuietMs/);
    });
  });

  it('dom mode: reads the rendered page once the selector is there', async () => {
    const result = await scrape(browsers, { name: 'spa', kind: 'browser', url: `${spa.origin}/`, dom: DOM });
    expect(result.eventsFound).toBe(6);
    expect(result.pages.flat().filter((selection) => selection.eventKey === 'e2-3').map((selection) => selection.selection).sort()).toEqual(['away', 'draw', 'home']);
  });

  it('refuses an entry with both modes, or neither, or a regex that does not compile', () => {
    const base = { name: 'spa', kind: 'browser', url: `${spa.origin}/` };
    expect(() => parsePlatformEntry({ ...base, capture: 'x', select: 'a', dom: DOM }, 1_000, {})).toThrow(PlatformEntryError);
    expect(() => parsePlatformEntry(base, 1_000, {})).toThrow(/needs capture/);
    expect(() => parsePlatformEntry({ ...base, capture: '/(/', select: 'a' }, 1_000, {})).toThrow(/regular expression/);
    expect(() => parsePlatformEntry({ ...base, capture: 'x' }, 1_000, {})).toThrow(/select/);
  });

  it('layout: a selector that never appears fails within waitTimeoutMs, with a screenshot and the rendered HTML', async () => {
    const started = Date.now();
    const error = await failure(browsers, { name: 'spa', kind: 'browser', url: `${spa.origin}/?token=sekrit-token`, waitTimeoutMs: 1_500, dom: { ...DOM, waitFor: '.renamed-card' } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.reason).toBe('layout');
    expect(error.capture?.screenshot?.subarray(1, 4).toString()).toBe('PNG');
    expect(error.capture?.html).toContain('class="event-card"');
    expect(error.capture?.url).not.toContain('sekrit-token');
  });

  it('layout in capture mode: no response matches within waitTimeoutMs', async () => {
    const error = await failure(browsers, { name: 'spa', kind: 'browser', url: `${spa.origin}/`, waitTimeoutMs: 1_000, capture: '/api/v2/', select: SELECT });
    expect(error.reason).toBe('layout');
    expect(error.capture?.html).toContain('event-card');
  });

  it('blocked: HTTP 403, a challenge page, or the entry\'s own marker', async () => {
    const blocked = await site({
      '/403': (_request, response) => void response.writeHead(403, { 'content-type': 'text/html' }).end('<p>Forbidden</p>'),
      '/challenge': '<html><head><title>Just a moment...</title></head><body><div id="cf-chl-widget"></div></body></html>',
      '/marker': '<html><body><p>Please verify you are human (ref 42)</p></body></html>',
    });
    try {
      for (const [path, extra] of [['/403', {}], ['/challenge', {}], ['/marker', { blockedMarker: 'verify you are human' }]] as const) {
        const error = await failure(browsers, { name: 'b', kind: 'browser', url: `${blocked.origin}${path}`, waitTimeoutMs: 500, dom: DOM, ...extra });
        expect(error.reason, path).toBe('blocked');
      }
    } finally {
      await blocked.close();
    }
  });

  it('actions: clicks a cookie banner away, skips an optional one that is not there, scrolls to load more', async () => {
    const more = await site({
      '/': `<!doctype html><body><div id="cookies"><button id="accept">Accept</button></div><main id="app"></main><script>
        let loaded = 0;
        function load() { loaded += 1; const app = document.getElementById('app');
          for (let i = 0; i < 3; i += 1) { const card = document.createElement('div'); card.className = 'event-card'; card.dataset.id = loaded + '-' + i;
            card.innerHTML = '<span class="home">H' + loaded + i + '</span><span class="away">A' + loaded + i + '</span><button class="price" data-selection="home">2.0</button>';
            card.style.height = '800px'; app.append(card); } }
        document.getElementById('accept').onclick = () => { document.getElementById('cookies').remove(); load(); };
        window.addEventListener('scroll', () => { if (loaded < 3 && window.innerHeight + window.scrollY >= document.body.scrollHeight - 10) load(); });
      </script></body>`,
    });
    try {
      const result = await scrape(browsers, {
        name: 'more',
        kind: 'browser',
        url: `${more.origin}/`,
        actions: [{ click: '#accept' }, { click: '#newsletter-close', optional: true, timeoutMs: 300 }, { scroll: 5 }],
        dom: DOM,
      });
      expect(result.eventsFound).toBe(9);
    } finally {
      await more.close();
    }
  });

  it('loads no images, fonts or media unless the entry asks, and sends its headers to its own origin only', async () => {
    const other = await site({ '/data.json': (_request, response) => void response.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end('{}') });
    const page = await site({
      '/': `<!doctype html><body><img src="/logo.png"><main id="app"><div class="event-card" data-id="1"><span class="home">H</span><span class="away">A</span><button class="price" data-selection="home">2.0</button></div></main>
        <script>fetch('${other.origin}/data.json'); fetch('/own.json');</script></body>`,
      '/logo.png': (_request, response) => void response.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(10)),
      '/own.json': '{}',
    });
    try {
      await scrape(browsers, { name: 'hdr', kind: 'browser', url: `${page.origin}/`, headers: { 'x-api-token': 'sekrit-value' }, dom: DOM });
      await scrape(browsers, { name: 'hdr', kind: 'browser', url: `${page.origin}/`, load: ['image'], dom: DOM });
      expect(page.seen.filter((request) => request.path === '/logo.png')).toHaveLength(1);
      expect(page.seen.find((request) => request.path === '/')?.headers['x-api-token']).toBe('sekrit-value');
      expect(page.seen.find((request) => request.path === '/own.json')?.headers['x-api-token']).toBe('sekrit-value');
      expect(other.seen.length).toBeGreaterThan(0);
      expect(other.seen.every((request) => request.headers['x-api-token'] === undefined)).toBe(true);
    } finally {
      await page.close();
      await other.close();
    }
  });

  it('forbidden addresses: a page whose URL is link-local fails forbidden_address', async () => {
    const error = await failure(browsers, { name: 'meta', kind: 'browser', url: 'http://169.254.169.254/latest/meta-data/', waitTimeoutMs: 500, dom: DOM });
    expect(error.reason).toBe('forbidden_address');
  });

  it('isolates steps: a cookie one platform\'s page sets is not seen by the next', async () => {
    const cookies = await site({
      '/': (request, response) => {
        const seen = request.headers.cookie ?? '';
        response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'session=abc; Path=/' }).end(`<div class="event-card" data-id="${seen ? 'with' : 'without'}"><span class="home">H</span><span class="away">A</span><button class="price" data-selection="home">2.0</button></div>`);
      },
    });
    try {
      const first = await scrape(browsers, { name: 'c1', kind: 'browser', url: `${cookies.origin}/`, dom: DOM });
      const second = await scrape(browsers, { name: 'c2', kind: 'browser', url: `${cookies.origin}/`, dom: DOM });
      expect([first.pages[0]![0]!.eventKey, second.pages[0]![0]!.eventKey]).toEqual(['without', 'without']);
    } finally {
      await cookies.close();
    }
  });
});

describe('the browser pool', () => {
  it('without Chromium: fails browser with a message naming CHROMIUM_PATH, starts nothing', async () => {
    const none = pool({ executablePath: '/nonexistent/chromium' });
    expect(none.available).toBe(false);
    const error = await failure(none, { name: 'x', kind: 'browser', url: 'http://127.0.0.1:9/', dom: DOM });
    expect(error.reason).toBe('browser');
    expect(error.message).toContain('CHROMIUM_PATH');
    await none.close();
  });

  it('opens at most maxPages at once, queues the rest in order, and recycles after recyclePages', async () => {
    const slow = await site({
      '/': (_request, response) => {
        setTimeout(() => response.writeHead(200, { 'content-type': 'text/html' }).end('<div class="event-card" data-id="1"><span class="home">H</span><span class="away">A</span><button class="price" data-selection="home">2.0</button></div>'), 300);
      },
    });
    const small = pool({ maxPages: 2, recyclePages: 3 });
    restarts.length = 0;
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, small.pagesOpen())), 10);
    try {
      const results = await Promise.all(Array.from({ length: 7 }, (_, index) => scrape(small, { name: `p${index}`, kind: 'browser', url: `${slow.origin}/`, dom: DOM })));
      expect(results.every((result) => result.eventsFound === 1)).toBe(true);
      expect(most).toBe(2);
      expect(restarts.filter((cause) => cause === 'pages').length).toBeGreaterThanOrEqual(2);
      expect(small.pagesOpen()).toBe(0);
      expect(small.pagesQueued()).toBe(0);
    } finally {
      clearInterval(sampler);
      await small.close();
      await slow.close();
    }
  });

  it('recycles the browser once its memory passes the bound', async () => {
    const page = await site({ '/': '<div class="event-card" data-id="1"><span class="home">H</span><span class="away">A</span><button class="price" data-selection="home">2.0</button></div>' });
    const tight = pool({ maxMemoryBytes: 1024 ** 2 });
    restarts.length = 0;
    try {
      await scrape(tight, { name: 'm', kind: 'browser', url: `${page.origin}/`, dom: DOM });
      expect(restarts).toEqual(['memory']);
      expect((await scrape(tight, { name: 'm', kind: 'browser', url: `${page.origin}/`, dom: DOM })).eventsFound).toBe(1);
    } finally {
      await tight.close();
      await page.close();
    }
  });

  it('a browser killed under a step fails it browser, is counted as a crash, and the next step starts a new one', async () => {
    const page = await site({
      '/slow': (_request, response) => void setTimeout(() => response.writeHead(200, { 'content-type': 'text/html' }).end('<p>late</p>'), 20_000),
      '/': '<div class="event-card" data-id="1"><span class="home">H</span><span class="away">A</span><button class="price" data-selection="home">2.0</button></div>',
    });
    const crashing = pool();
    restarts.length = 0;
    try {
      const failing = failure(crashing, { name: 'k', kind: 'browser', url: `${page.origin}/slow`, dom: DOM });
      await waitFor(() => page.seen.some((request) => request.path === '/slow'), { what: 'the page to be loading' });
      const browserPid = childChromium();
      expect(browserPid).toBeDefined();
      process.kill(browserPid!, 'SIGKILL');
      const error = await failing;
      expect(error.reason).toBe('browser');
      await waitFor(() => restarts.includes('crash'), { what: 'the crash to be counted' });
      expect(restarts).toEqual(['crash']);
      expect((await scrape(crashing, { name: 'k', kind: 'browser', url: `${page.origin}/`, dom: DOM })).eventsFound).toBe(1);
    } finally {
      await crashing.close();
      await page.close();
    }
  });
});

/** The newest browser process this test process started (a direct child running Chromium; earlier tests' may still be closing). */
function childChromium(): number | undefined {
  let newest: { pid: number; started: number } | undefined;
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const started = Number(fields[19]);
      if (Number(fields[1]) === process.pid && /chrom/i.test(readlinkSync(`/proc/${name}/exe`)) && started >= (newest?.started ?? 0)) newest = { pid: Number(name), started };
    } catch {
      // ended while read
    }
  }
  return newest?.pid;
}
