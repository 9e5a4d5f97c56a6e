import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError, type PlatformAdapter, type ScrapedSelection, type ScrapeObserver } from '../../src/platforms/adapter.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { DEFAULT_MAX_PAGES } from '../../src/platforms/entry.js';
import { parsePlatformEntry, PlatformEntryError } from '../../src/platforms/platformsFile.js';
import { SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import { fractional } from '../../src/platforms/simulator/jsonRoute.js';
import { simulatedEvents } from '../../src/platforms/simulator/sportingEvents.js';
import type { RejectedPriceReason } from '../../src/shared/contract.js';
import { ROOT, SERVICE_ARGS } from '../helpers/childService.js';

/**
 * The `json` kind over real HTTP: the simulated bookmaker quayside (its own shape, cursor pagination,
 * fractional prices, its own spellings), and tiny loopback servers for each pagination style, POST bodies
 * and every way a mapping or a response can go wrong.
 */

interface Scraped {
  events: number;
  pages: ScrapedSelection[][];
  progress: number[];
  rejected: RejectedPriceReason[];
}

async function scrape(adapter: PlatformAdapter, maxPages?: number, signal = new AbortController().signal): Promise<Scraped> {
  const pages: ScrapedSelection[][] = [];
  const progress: number[] = [];
  const rejected: RejectedPriceReason[] = [];
  const observer: ScrapeObserver = { redirected() {}, rejectedPrice: (reason) => rejected.push(reason), quota() {} };
  const events = await adapter.scrape(signal, async ({ eventsFound, batch }) => {
    pages.push(batch);
    progress.push(eventsFound);
  }, observer, maxPages);
  return { events, pages, progress, rejected };
}

/** A scrape that must fail: its PlatformError. */
async function failure(adapter: PlatformAdapter): Promise<PlatformError> {
  const error = await scrape(adapter).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PlatformError);
  return error as PlatformError;
}

const adapterOf = (entry: Record<string, unknown>, env: Record<string, string> = {}) => createAdapter(parsePlatformEntry(entry, 5_000, env));

interface Received {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TinyServer {
  url: string;
  origin: string;
  received: Received[];
  close(): Promise<void>;
}

/** A loopback server answering each request with `answer(request)` as JSON (a string is sent as it is). */
async function tinyServer(answer: (request: Received, origin: string) => unknown): Promise<TinyServer> {
  const received: Received[] = [];
  let origin = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: new URL(req.url ?? '/', origin), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const value = answer(request, origin);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/api/odds`,
    origin,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A row of a tiny server's own shape: one selection per row. */
const row = (id: number, price: unknown = '2.10') => ({ id, match: `Home ${id} v Away ${id}`, market: 'match_result', pick: 'home', price });
const rows = (from: number, count: number) => Array.from({ length: count }, (_, index) => row(from + index));
const ROWS_SELECT = 'rows.{ "eventId": id, "eventName": match, "market": market, "selection": pick, "price": price }';

const servers: TinyServer[] = [];
async function server(answer: (request: Received, origin: string) => unknown): Promise<TinyServer> {
  const started = await tinyServer(answer);
  servers.push(started);
  return started;
}
afterAll(async () => {
  await Promise.all(servers.map((started) => started.close()));
});

describe('quayside, the simulated bookmaker of the json kind', () => {
  const sim = new SimulatedFeeds({ quayside: { latencyMs: 0, priceDrift: 0 } });
  beforeAll(() => sim.start());
  afterAll(() => sim.stop());

  it('reads every page by its cursor, in its own spellings, start times and fractional prices', async () => {
    const knobs = sim.knobs.get('quayside')!;
    const before = sim.requests('quayside');
    const result = await scrape(createAdapter(parsePlatformEntry(sim.entryOf('quayside'), 5_000, sim.env)));

    expect(sim.requests('quayside') - before).toBe(knobs.pages);
    expect(result.pages).toHaveLength(knobs.pages);
    expect(result.events).toBe(knobs.pages * knobs.eventsPerPage);
    expect(result.progress).toEqual(Array.from({ length: knobs.pages }, (_, index) => (index + 1) * knobs.eventsPerPage));
    expect(result.rejected).toEqual([]);

    const canonical = Array.from({ length: knobs.pages }, (_, index) => simulatedEvents({ page: index + 1, knobs, scrape: 0, seed: 'quayside', epoch: sim.epoch })).flat();
    const odds = result.pages.flat();
    expect(odds).toHaveLength(canonical.length * 5);
    for (const event of canonical) {
      const ofEvent = odds.filter((odd) => odd.eventKey === String(9000 + event.n));
      expect(new Set(ofEvent.map((odd) => `${odd.market}/${odd.selection}`))).toEqual(new Set(['match_result/1', 'match_result/X', 'match_result/2', 'total_goals/over 2.5', 'total_goals/under 2.5']));
      for (const odd of ofEvent) {
        expect(odd.bookmaker).toBe('quayside');
        expect(odd.startsAt).toBe(new Date(event.startsAt.getTime() + 5 * 60_000).toISOString());
        expect(odd.home?.toLowerCase().replace(/[^a-z]/g, '')).toMatch(new RegExp(`^${event.home.toLowerCase()}(fc|afc|cf)?$`));
        expect(odd.eventName).toBe(`${odd.home} v ${odd.away}`);
      }
      const home = ofEvent.find((odd) => odd.selection === '1')!;
      expect(home.priceText).toBe(fractional(event.prices.home));
      expect(home.price).toBeCloseTo(event.prices.home, 4);
      expect(ofEvent.find((odd) => odd.selection === 'under 2.5')!.price).toBeCloseTo(event.prices.under, 4);
    }
    expect(odds.some((odd) => odd.home === 'Arsenal FC')).toBe(true);
    expect(odds.some((odd) => odd.priceText.includes('/'))).toBe(true);
  });

  it('obeys the knobs: fewer events with eventsFraction, a 503 with failureRate', async () => {
    const adapter = createAdapter(parsePlatformEntry(sim.entryOf('quayside'), 5_000, sim.env));
    sim.set('quayside', { eventsFraction: 0.5, pages: 2 });
    try {
      expect((await scrape(adapter)).events).toBe(2 * Math.round(sim.knobs.get('quayside')!.eventsPerPage * 0.5));
      sim.set('quayside', { failureRate: 1 });
      expect((await failure(adapter)).reason).toBe('http_5xx');
    } finally {
      sim.set('quayside', { eventsFraction: 1, pages: 3, failureRate: 0 });
    }
  });

  it('the preview reads one page only', async () => {
    const before = sim.requests('quayside');
    const result = await scrape(createAdapter(parsePlatformEntry(sim.entryOf('quayside'), 5_000, sim.env)), 1);
    expect(result.pages).toHaveLength(1);
    expect(sim.requests('quayside') - before).toBe(1);
  });
});

describe('pagination', () => {
  it('page: numbers from `start` until `total` pages, never past them', async () => {
    const feed = await server(({ url }) => ({ meta: { pages: 3 }, rows: rows(Number(url.searchParams.get('p')) * 10, 2) }));
    const result = await scrape(adapterOf({ name: 'paged', kind: 'json', url: `${feed.url}?sport=1`, pagination: { style: 'page', param: 'p', start: 0, total: 'meta.pages' }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => url.searchParams.get('p'))).toEqual(['0', '1', '2']);
    expect(feed.received.every(({ url }) => url.searchParams.get('sport') === '1')).toBe(true);
    expect(result.events).toBe(6);
    expect(result.pages.flat().map((odd) => odd.eventKey)).toEqual(['0', '1', '10', '11', '20', '21']);
  });

  it('page: without `total`, stops at the first empty page', async () => {
    const feed = await server(({ url }) => ({ rows: Number(url.searchParams.get('page')) <= 2 ? rows(Number(url.searchParams.get('page')) * 10, 3) : [] }));
    const result = await scrape(adapterOf({ name: 'paged', kind: 'json', url: feed.url, pagination: { style: 'page' }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => url.searchParams.get('page'))).toEqual(['1', '2', '3']);
    expect(result.events).toBe(6);
  });

  it('page: a `total` that is no number of pages fails as parse', async () => {
    const feed = await server(() => ({ meta: { pages: 'many' }, rows: rows(0, 1) }));
    const error = await failure(adapterOf({ name: 'paged', kind: 'json', url: feed.url, pagination: { style: 'page', total: 'meta.pages' }, select: ROWS_SELECT }));
    expect(error.reason).toBe('parse');
    expect(error.message).toBe('page 1: pagination.total yields no number of pages (an integer, 0 or more)');
  });

  it('offset: steps by `limit`, sends `limitParam`, stops at a short page', async () => {
    const all = rows(100, 5);
    const feed = await server(({ url }) => ({ rows: all.slice(Number(url.searchParams.get('skip')), Number(url.searchParams.get('skip')) + Number(url.searchParams.get('take'))) }));
    const result = await scrape(adapterOf({ name: 'offset', kind: 'json', url: feed.url, pagination: { style: 'offset', param: 'skip', limitParam: 'take', limit: 2 }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => `${url.searchParams.get('skip')}+${url.searchParams.get('take')}`)).toEqual(['0+2', '2+2', '4+2']);
    expect(result.events).toBe(5);
  });

  it('offset: stops at an empty page when the last page was full', async () => {
    const all = rows(100, 4);
    const feed = await server(({ url }) => ({ rows: all.slice(Number(url.searchParams.get('offset')), Number(url.searchParams.get('offset')) + 2) }));
    const result = await scrape(adapterOf({ name: 'offset', kind: 'json', url: feed.url, pagination: { style: 'offset', limit: 2 }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => url.searchParams.get('offset'))).toEqual(['0', '2', '4']);
    expect(feed.received.every(({ url }) => !url.searchParams.has('limit'))).toBe(true);
    expect(result.events).toBe(4);
  });

  it('cursor: follows next URLs, relative or absolute, on the same origin', async () => {
    const feed = await server(({ url }, origin) => {
      const page = Number(url.searchParams.get('page') ?? '1');
      const next = page === 1 ? '/api/odds?page=2' : page === 2 ? `${origin}/api/odds?page=3` : null;
      return { rows: rows(page * 10, 2), links: { next } };
    });
    const result = await scrape(adapterOf({ name: 'linked', kind: 'json', url: feed.url, pagination: { style: 'cursor', next: 'links.next' }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => url.search)).toEqual(['', '?page=2', '?page=3']);
    expect(result.events).toBe(6);
  });

  it('cursor: a cursor sent as `param`, a number as well as text', async () => {
    const feed = await server(({ url }) => {
      const after = url.searchParams.get('after');
      return after === null ? { rows: rows(1, 1), next: 77 } : after === '77' ? { rows: rows(2, 1), next: 'b2' } : { rows: rows(3, 1), next: null };
    });
    const result = await scrape(adapterOf({ name: 'cursored', kind: 'json', url: feed.url, pagination: { style: 'cursor', next: 'next', param: 'after' }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => url.searchParams.get('after'))).toEqual([null, '77', 'b2']);
    expect(result.events).toBe(3);
  });

  it('cursor: a next URL on another origin is refused (parse), and never requested', async () => {
    const elsewhere = await server(() => ({ rows: rows(2, 1) }));
    const feed = await server(() => ({ rows: rows(1, 1), next: `${elsewhere.url}?page=2` }));
    const error = await failure(adapterOf({ name: 'leaky', kind: 'json', url: feed.url, headers: { 'x-api-key': 'a-secret-api-key' }, pagination: { style: 'cursor', next: 'next' }, select: ROWS_SELECT }));
    expect(error.reason).toBe('parse');
    expect(error.message).toBe("page 1: pagination.next yields a URL on another origin than url's (refused)");
    expect(elsewhere.received).toHaveLength(0);
    expect(feed.received).toHaveLength(1);
  });

  it('cursor: a next URL already read ends the pagination instead of looping', async () => {
    const feed = await server(({ url }) => ({ rows: rows(Number(url.searchParams.get('page') ?? '1'), 1), next: url.searchParams.get('page') === '2' ? '/api/odds?page=1' : '/api/odds?page=2' }));
    await scrape(adapterOf({ name: 'loop', kind: 'json', url: `${feed.url}?page=1`, pagination: { style: 'cursor', next: 'next' }, select: ROWS_SELECT }));
    expect(feed.received.map(({ url }) => url.searchParams.get('page'))).toEqual(['1', '2']);
  });

  it('maxPages bounds a pagination that never ends; without it, DEFAULT_MAX_PAGES does', async () => {
    let served = 0;
    const feed = await server(() => ({ rows: rows(served, 1), next: `c${(served += 1)}` }));
    const bounded = await scrape(adapterOf({ name: 'endless', kind: 'json', url: feed.url, pagination: { style: 'cursor', next: 'next', param: 'c', maxPages: 3 }, select: ROWS_SELECT }));
    expect(feed.received).toHaveLength(3);
    expect(bounded.events).toBe(3);

    feed.received.length = 0;
    await scrape(adapterOf({ name: 'endless', kind: 'json', url: feed.url, pagination: { style: 'cursor', next: 'next', param: 'c' }, select: ROWS_SELECT }));
    expect(feed.received).toHaveLength(DEFAULT_MAX_PAGES);
  });

  it('without pagination: one request, even when the response has a next link', async () => {
    const feed = await server(() => ({ rows: rows(1, 2), next: '/api/odds?page=2' }));
    const result = await scrape(adapterOf({ name: 'single', kind: 'json', url: feed.url, select: ROWS_SELECT }));
    expect(feed.received).toHaveLength(1);
    expect(result.events).toBe(2);
  });

  it('stops between pages when the signal aborts', async () => {
    const feed = await server(({ url }) => ({ rows: rows(Number(url.searchParams.get('page')), 1) }));
    const controller = new AbortController();
    const adapter = adapterOf({ name: 'aborted', kind: 'json', url: feed.url, pagination: { style: 'page' }, select: ROWS_SELECT });
    const scraping = adapter.scrape(controller.signal, async () => controller.abort(new Error('the run ended')), { redirected() {}, rejectedPrice() {}, quota() {} });
    await expect(scraping).rejects.toThrow('the run ended');
    expect(feed.received).toHaveLength(1);
  });
});

describe('requests', () => {
  it('POST sends a JSON body as application/json, with the entry headers, on every page', async () => {
    const feed = await server(({ url }) => ({ rows: url.searchParams.get('page') === '1' ? rows(1, 1) : [] }));
    await scrape(
      adapterOf(
        { name: 'posted', kind: 'json', url: feed.url, method: 'POST', headers: { 'x-api-key': { env: 'POSTED_KEY' } }, body: { sport: 'football', markets: ['1x2'] }, pagination: { style: 'page' }, select: ROWS_SELECT },
        { POSTED_KEY: 'posted-secret-key' },
      ),
    );
    expect(feed.received).toHaveLength(2);
    for (const request of feed.received) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-api-key']).toBe('posted-secret-key');
      expect(JSON.parse(request.body)).toEqual({ sport: 'football', markets: ['1x2'] });
    }
  });

  it('POST sends a text body as it is, with the content type the entry gives', async () => {
    const feed = await server(() => ({ rows: rows(1, 1) }));
    await scrape(adapterOf({ name: 'form', kind: 'json', url: feed.url, method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'sport=football&day=1', select: ROWS_SELECT }));
    expect(feed.received[0]!.body).toBe('sport=football&day=1');
    expect(feed.received[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('a body with GET is refused when the entry is read', () => {
    expect(() => parsePlatformEntry({ name: 'getbody', kind: 'json', url: 'http://127.0.0.1/x', body: { a: 1 }, select: 'x' }, 5_000, {})).toThrow(
      new PlatformEntryError('platform getbody: body: is sent only with method POST'),
    );
  });
});

describe('select', () => {
  it('reads ids as numbers, epoch milliseconds as start times, and prices in every notation', async () => {
    const kickoff = Date.UTC(2030, 4, 1, 18, 0);
    const feed = await server(() => ({
      rows: [
        { ...row(7, '6/4'), at: kickoff },
        { ...row(7, '+150'), pick: 'draw', at: kickoff },
        { ...row(8, 3.25), at: '2030-05-01T20:00:00+02:00', home: 'A', away: null },
      ],
    }));
    const result = await scrape(adapterOf({ name: 'notations', kind: 'json', url: feed.url, select: 'rows.{ "eventId": id, "eventName": match, "startsAt": at, "home": home, "away": away, "market": market, "selection": pick, "price": price }' }));
    expect(result.pages[0]).toEqual([
      { eventKey: '7', eventName: 'Home 7 v Away 7', startsAt: '2030-05-01T18:00:00.000Z', market: 'match_result', selection: 'home', price: 2.5, priceText: '6/4', bookmaker: 'notations' },
      { eventKey: '7', eventName: 'Home 7 v Away 7', startsAt: '2030-05-01T18:00:00.000Z', market: 'match_result', selection: 'draw', price: 2.5, priceText: '+150', bookmaker: 'notations' },
      { eventKey: '8', eventName: 'Home 8 v Away 8', startsAt: '2030-05-01T18:00:00.000Z', home: 'A', market: 'match_result', selection: 'home', price: 3.25, priceText: '3.25', bookmaker: 'notations' },
    ]);
    expect(result.events).toBe(2);
  });

  it('a single match is one item (JSONata gives it unwrapped)', async () => {
    const feed = await server(() => ({ rows: [row(1)] }));
    expect((await scrape(adapterOf({ name: 'single', kind: 'json', url: feed.url, select: ROWS_SELECT }))).pages[0]).toHaveLength(1);
  });

  it('a bad price is dropped and counted; the rest of the page is kept', async () => {
    const feed = await server(() => ({ rows: [row(1, 'abc'), row(2, '0.5'), row(3, null), row(4, '1/0'), row(5, '11/10')] }));
    const result = await scrape(adapterOf({ name: 'prices', kind: 'json', url: feed.url, select: ROWS_SELECT }));
    expect(result.rejected).toEqual(['malformed', 'not_above_one', 'empty', 'malformed']);
    expect(result.pages[0]!.map((odd) => [odd.eventKey, odd.price])).toEqual([['5', 2.1]]);
    expect(result.events).toBe(5);
  });

  it('a malformed item fails the page as parse, naming the item and the key, never its value', async () => {
    const feed = await server(() => ({ rows: [row(1), { ...row(2), market: undefined }, { ...row(3), match: 'bad\u0000name-secret' }] }));
    const missing = await failure(adapterOf({ name: 'items', kind: 'json', url: feed.url, select: ROWS_SELECT }));
    expect(missing.reason).toBe('parse');
    expect(missing.message).toBe('page 1: select item 1: market Invalid input: expected string, received undefined');

    const control = await failure(adapterOf({ name: 'items', kind: 'json', url: feed.url, select: 'rows[id = 3].{ "eventId": id, "eventName": match, "market": market, "selection": pick, "price": price }' }));
    expect(control.message).toBe('page 1: select item 0: eventName holds a control character or broken Unicode');
  });

  it('a key select may not yield (a typo) fails the page, named', async () => {
    const feed = await server(() => ({ rows: [row(1)] }));
    const error = await failure(adapterOf({ name: 'typo', kind: 'json', url: feed.url, select: 'rows.{ "eventId": id, "eventName": match, "startAt": "2030-01-01T00:00:00Z", "market": market, "selection": pick, "price": price }' }));
    expect(error.message).toBe('page 1: select item 0: has keys select may not yield: startAt');
  });

  it('epoch seconds are no start time', async () => {
    const feed = await server(() => ({ rows: [{ ...row(1), at: 1_900_000_000 }] }));
    const error = await failure(adapterOf({ name: 'seconds', kind: 'json', url: feed.url, select: 'rows.{ "eventId": id, "eventName": match, "startsAt": at, "market": market, "selection": pick, "price": price }' }));
    expect(error.message).toBe('page 1: select item 0: startsAt is no ISO date-time with its offset, nor epoch milliseconds');
  });

  it('yielding nothing from a non-empty response fails as parse; an empty one is zero events', async () => {
    const renamed = await server(() => ({ data: { rows: rows(1, 3) } }));
    const error = await failure(adapterOf({ name: 'renamed', kind: 'json', url: renamed.url, select: ROWS_SELECT }));
    expect(error.reason).toBe('parse');
    expect(error.message).toBe('page 1: select yields nothing from a non-empty response');

    for (const body of ['[]', '{}', '', '  \n']) {
      const empty = await server(() => body);
      const result = await scrape(adapterOf({ name: 'empty', kind: 'json', url: empty.url, pagination: { style: 'page' }, select: ROWS_SELECT }));
      expect(result).toMatchObject({ events: 0, pages: [[]] });
      expect(empty.received).toHaveLength(1);
    }
  });

  it('yielding no objects fails as parse', async () => {
    const feed = await server(() => ({ rows: rows(1, 2) }));
    expect((await failure(adapterOf({ name: 'scalar', kind: 'json', url: feed.url, select: '$count(rows)' }))).message).toBe('page 1: select yields a number, not items');
    const strings = await failure(adapterOf({ name: 'scalar', kind: 'json', url: feed.url, select: 'rows.match' }));
    expect(strings.message).toBe('page 1: select item 0: is no object');
  });

  it('an evaluation error fails as parse with JSONata code and position, never the value', async () => {
    const feed = await server(() => ({ rows: [{ ...row(1), boost: 'the-secret-value' }] }));
    const error = await failure(adapterOf({ name: 'evaluated', kind: 'json', url: feed.url, select: 'rows.{ "eventId": id, "eventName": match, "market": market, "selection": pick, "price": price + boost }' }));
    expect(error.reason).toBe('parse');
    expect(error.message).toBe('page 1: select failed at position 95 (JSONata T2001)');
  });

  it('a runaway expression is stopped by the depth and time guards', async () => {
    const feed = await server(() => ({ rows: rows(1, 1) }));
    const deep = await failure(adapterOf({ name: 'deep', kind: 'json', url: feed.url, select: '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))' }));
    expect(deep.reason).toBe('parse');
    expect(deep.message).toMatch(/^page 1: select nested deeper than 500 \(runaway recursion\) at position \d+ \(JSONata D1011\)$/);

    const started = performance.now();
    const slow = await failure(adapterOf({ name: 'slow', kind: 'json', url: feed.url, timeoutMs: 300, select: '$sum([1..400000].($sum([1..20])))' }));
    expect(slow.reason).toBe('parse');
    expect(slow.message).toMatch(/^page 1: select ran longer than 300 ms/);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('a response that is no JSON fails as parse, a challenge page as blocked', async () => {
    const junk = await server(() => '{"rows": [');
    expect(await failure(adapterOf({ name: 'junk', kind: 'json', url: junk.url, select: ROWS_SELECT }))).toMatchObject({ reason: 'parse', message: 'page 1 is not valid JSON' });
    const challenge = await server(() => '<html><title>Just a moment...</title></html>');
    expect((await failure(adapterOf({ name: 'challenged', kind: 'json', url: challenge.url, select: ROWS_SELECT }))).reason).toBe('blocked');
  });
});

describe('expressions are compiled when the adapter is built', () => {
  const entry = (select: string, pagination?: Record<string, unknown>) => ({ name: 'broken', kind: 'json', url: 'http://127.0.0.1:9/odds', select, ...(pagination ? { pagination } : {}) });

  it('a syntax error in select fails with the platform, the key and the position', () => {
    expect(() => adapterOf(entry('rows.{ "eventId": id,'))).toThrow(PlatformEntryError);
    expect(() => adapterOf(entry('rows[0'))).toThrow('platform broken: select: syntax error at position 6 (JSONata S0203): Expected "]" before end of expression');
  });

  it('and in pagination.next and pagination.total', () => {
    expect(() => adapterOf(entry(ROWS_SELECT, { style: 'cursor', next: 'links.(next' }))).toThrow(/^platform broken: pagination\.next: syntax error at position \d+ \(JSONata S\d{4}\)/);
    expect(() => adapterOf(entry(ROWS_SELECT, { style: 'page', total: 'meta.pages +' }))).toThrow(/^platform broken: pagination\.total: syntax error at position \d+ \(JSONata S\d{4}\)/);
  });

  it('the service refuses to start on one, naming it, before touching any database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-json-'));
    try {
      const file = path.join(dir, 'platforms.json');
      writeFileSync(file, JSON.stringify([entry(ROWS_SELECT), { ...entry('rows.{ "eventId": id'), name: 'broken2' }]));
      const child = spawn(process.execPath, SERVICE_ARGS, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PLATFORMS_FILE: file, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }, stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      const fatal = JSON.parse(stdout.trim().split('\n').at(-1)!) as { level: string; msg: string; err: { message: string } };
      expect(fatal).toMatchObject({ level: 'fatal', msg: 'oddswatch could not start' });
      expect(fatal.err.message).toMatch(/^PLATFORMS_FILE \S+: platform broken2: select: syntax error at position \d+ \(JSONata S\d{4}\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
