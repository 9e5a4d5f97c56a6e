import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IGNORE_OBSERVATIONS, PlatformError, type ScrapedSelection } from '../../src/platforms/adapter.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { DEFAULT_MAX_PAGES } from '../../src/platforms/entry.js';
import { parsePlatformEntry, PlatformEntryError } from '../../src/platforms/platformsFile.js';
import { SimulatedFeeds, type FeedKnobs } from '../../src/platforms/simulatedFeeds.js';
import { simulatedEvents } from '../../src/platforms/simulator/sportingEvents.js';
import type { RejectedPriceReason } from '../../src/shared/contract.js';
import { platformFailure } from '../helpers/platformFailure.js';

/**
 * The `html` kind over real HTTP on loopback: the simulated bookmaker oakridge read through the entry the
 * simulator hands out, and tiny node:http sites that serve one hostile or awkward page each.
 */

interface Scrape {
  eventsFound: number;
  /** Each page's batch, in order. */
  pages: ScrapedSelection[][];
  rejected: RejectedPriceReason[];
}

async function scrape(entry: Record<string, unknown>, options: { env?: Record<string, string>; maxPages?: number } = {}): Promise<Scrape> {
  const adapter = createAdapter(parsePlatformEntry(entry, 5_000, options.env ?? {}));
  const pages: ScrapedSelection[][] = [];
  const rejected: RejectedPriceReason[] = [];
  const eventsFound = await adapter.scrape(
    AbortSignal.timeout(20_000),
    async (progress) => {
      pages.push(progress.batch);
    },
    { ...IGNORE_OBSERVATIONS, rejectedPrice: (reason) => rejected.push(reason) },
    options.maxPages,
  );
  return { eventsFound, pages, rejected };
}

const failure = (entry: Record<string, unknown>): Promise<PlatformError> => platformFailure(scrape(entry));

const priceOf = (selections: ScrapedSelection[], eventKey: string, selection: string) => selections.find((s) => s.eventKey === eventKey && s.selection === selection);

describe('the simulated bookmaker oakridge', () => {
  let sim: SimulatedFeeds | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });
  async function simulator(knobs: Partial<FeedKnobs> = {}): Promise<SimulatedFeeds> {
    sim = new SimulatedFeeds({ oakridge: { latencyMs: 0, ...knobs } });
    await sim.start();
    return sim;
  }
  const read = (feeds: SimulatedFeeds, maxPages?: number) => scrape(feeds.entryOf('oakridge'), { env: feeds.env, ...(maxPages ? { maxPages } : {}) });

  it('reads every page through its next link: each sporting event with its participants and canonical start time', async () => {
    const feeds = await simulator({ pages: 3, eventsPerPage: 12 });
    const { eventsFound, pages, rejected } = await read(feeds);
    expect(eventsFound).toBe(36);
    expect(feeds.requests('oakridge')).toBe(3);
    expect(pages.map((batch) => batch.length)).toEqual([60, 60, 60]);
    expect(rejected).toEqual([]);
    const knobs = feeds.knobs.get('oakridge')!;
    const expected = [1, 2, 3].flatMap((page) => simulatedEvents({ page, knobs, scrape: 0, seed: 'oakridge', epoch: feeds.epoch }));
    const all = pages.flat();
    for (const event of expected) {
      const selections = all.filter((selection) => selection.eventKey === String(40_100 + event.n));
      expect(selections.map((s) => `${s.market}/${s.selection}`)).toEqual(['match_result/home', 'match_result/draw', 'match_result/away', 'total_goals_2.5/over', 'total_goals_2.5/under']);
      for (const selection of selections) {
        expect(selection).toMatchObject({ eventName: `${event.home} v ${event.away}`, home: event.home, away: event.away, startsAt: event.startsAt.toISOString(), bookmaker: 'oakridge' });
      }
    }
  });

  it('reads American prices (+140, -250) into decimals rounded to 4 places, within a cent of the price it offers', async () => {
    const feeds = await simulator({ pages: 2, eventsPerPage: 12 });
    const all = (await read(feeds)).pages.flat();
    const knobs = feeds.knobs.get('oakridge')!;
    const events = [1, 2].flatMap((page) => simulatedEvents({ page, knobs, scrape: 0, seed: 'oakridge', epoch: feeds.epoch }));
    const signs = new Set<string>();
    for (const event of events) {
      for (const key of ['home', 'draw', 'away', 'over', 'under'] as const) {
        const selection = priceOf(all, String(40_100 + event.n), key)!;
        const [, sign, line] = /^([+-])(\d{3,})$/.exec(selection.priceText) ?? [];
        expect(sign, selection.priceText).toBeDefined();
        signs.add(sign!);
        expect(selection.price).toBe(Number((sign === '+' ? 1 + Number(line) / 100 : 1 + 100 / Number(line)).toFixed(4)));
        expect(Math.abs(selection.price - event.prices[key])).toBeLessThan(0.01);
      }
    }
    expect(signs).toEqual(new Set(['+', '-']));
    expect(all.some((selection) => !Number.isInteger(selection.price * 100))).toBe(true); // -270 is 1.3704: 4 places kept
  });

  it('stops at the scrape\'s maxPages (the preview reads one page)', async () => {
    const feeds = await simulator({ pages: 3, eventsPerPage: 5 });
    const { eventsFound, pages } = await read(feeds, 1);
    expect(eventsFound).toBe(5);
    expect(pages).toHaveLength(1);
    expect(feeds.requests('oakridge')).toBe(1);
  });

  it('a page it fails with 503 fails the step as http_5xx', async () => {
    const feeds = await simulator({ failureRate: 1 });
    await expect(read(feeds)).rejects.toMatchObject({ reason: 'http_5xx' });
  });

  it('a listing without events ("no events") is zero events, not a changed layout', async () => {
    const feeds = await simulator({ eventsFraction: 0 });
    const { eventsFound, pages } = await read(feeds);
    expect(eventsFound).toBe(0);
    expect(pages).toEqual([]);
  });
});

interface Site {
  origin: string;
  /** Path and query of every request, in order. */
  requests: string[];
  /** The authorization header of every request, in order. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

interface Answer {
  status?: number;
  contentType?: string;
  body: string | Buffer;
}

const sites: Site[] = [];
afterEach(async () => {
  await Promise.all(sites.splice(0).map((site) => site.close()));
});

async function startSite(answer: (url: URL) => Answer | string): Promise<Site> {
  const site: Site = { origin: '', requests: [], authorizations: [], close: async () => {} };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://site.invalid');
    site.requests.push(`${url.pathname}${url.search}`);
    site.authorizations.push(request.headers.authorization);
    const answered = answer(url);
    const { status = 200, contentType = 'text/html; charset=utf-8', body } = typeof answered === 'string' ? { body: answered } : answered;
    response.writeHead(status, { 'content-type': contentType }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  site.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  site.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  sites.push(site);
  return site;
}

interface Row {
  id?: string;
  home?: string;
  away?: string;
  startsAt?: string;
  /** Inner HTML of the price cells; undefined leaves the cell out. */
  prices?: [string | undefined, string | undefined, string | undefined];
}

/** A fixture row as the test sites write it (values are HTML, written as given). */
function row({ id = '1', home = 'Arsenal', away = 'Benfica', startsAt = '2030-06-14T15:00:00Z', prices = ['2.10', '3.40', '3.60'] }: Row): string {
  const cell = (cls: string, price: string | undefined) => (price === undefined ? '' : `<td class="${cls}">${price}</td>`);
  return `<tr class="ev" data-id="${id}"><td><time datetime="${startsAt}">15:00</time></td><td class="home">${home}</td><td class="away">${away}</td>${cell('p1', prices[0])}${cell('px', prices[1])}${cell('p2', prices[2])}</tr>`;
}

function page(rows: string[], after = ''): string {
  return `<!DOCTYPE html><html><head><title>Football odds</title><script>var rows = '<tr class="ev" data-id="decoy">';</script></head><body><nav><a href="/">Home</a></nav><table><tbody>${rows.join('')}</tbody></table>${after}<footer>18+</footer></body></html>`;
}

const ROWS = {
  event: 'tr.ev',
  id: { selector: '', attribute: 'data-id' },
  home: '.home',
  away: '.away',
  startsAt: { selector: 'time', attribute: 'datetime' },
  markets: [{ name: 'match_result', selections: [{ name: 'home', price: '.p1' }, { name: 'draw', price: '.px' }, { name: 'away', price: '.p2' }] }],
};

function entryFor(site: Site, extra: Record<string, unknown> = {}, path = '/odds'): Record<string, unknown> {
  return { name: 'testbook', kind: 'html', url: `${site.origin}${path}`, rows: ROWS, ...extra };
}

describe('prices', () => {
  it('reads decimal, fractional and American text; a bad price is dropped and counted, the rest of its row kept', async () => {
    const site = await startSite(() =>
      page([
        row({ id: 'a', prices: ['+140', '7/5', '2.50'] }),
        row({ id: 'b', prices: ['SUSP', undefined, '&minus;250'] }),
        row({ id: 'c', prices: ['1.00', ' ', '<span class="price"> -250 </span>'] }),
      ]),
    );
    const { eventsFound, pages, rejected } = await scrape(entryFor(site));
    expect(eventsFound).toBe(3);
    const kept = pages.flat().map((s) => [s.eventKey, s.selection, s.price, s.priceText]);
    expect(kept).toEqual([
      ['a', 'home', 2.4, '+140'],
      ['a', 'draw', 2.4, '7/5'],
      ['a', 'away', 2.5, '2.50'],
      ['b', 'away', 1.4, '-250'],
      ['c', 'away', 1.4, '-250'],
    ]);
    expect(rejected).toEqual(['malformed', 'empty', 'not_above_one', 'empty']);
  });
});

describe('what a page says about itself', () => {
  it('a page whose rows no longer match rows.event (the layout changed) fails the step as parse', async () => {
    const site = await startSite(() => '<!DOCTYPE html><html><body><div class="events"><div class="event" data-id="1">Arsenal v Benfica 2.10</div></div></body></html>');
    const error = await failure(entryFor(site));
    expect(error.reason).toBe('parse');
    expect(error.message).toMatch(/page 1: no rows match rows\.event/);
  });

  it('an empty 200 answer is no listing either: parse', async () => {
    const site = await startSite(() => '');
    expect(await failure(entryFor(site))).toMatchObject({ reason: 'parse' });
  });

  it('a challenge page ("Just a moment...") fails the step as blocked, on the first page or a later one', async () => {
    const challenge = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id="cf-chl-widget"></div><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>';
    const first = await startSite(() => ({ status: 200, body: challenge }));
    const error = await failure(entryFor(first));
    expect(error.reason).toBe('blocked');
    expect(error.message).toMatch(/page 1 is a challenge page/);
    const later = await startSite((url) => (url.searchParams.get('page') === '2' ? challenge : page([row({})], '<a rel="next" href="?page=2">Next</a>')));
    expect(await failure(entryFor(later, { pagination: { nextLink: 'a[rel=next]' } }))).toMatchObject({ reason: 'blocked', message: expect.stringMatching(/page 2/) });
  });

  it('a page with rows is read even when it carries a captcha script (a login box)', async () => {
    const site = await startSite(() => page([row({})], '<form class="login"><script src="https://www.google.com/recaptcha/api.js"></script><div class="g-recaptcha"></div></form>'));
    expect((await scrape(entryFor(site))).eventsFound).toBe(1);
  });

  it('a row without its id or a participant fails the step as parse, naming the page, the row and the key', async () => {
    const noId = await startSite(() => page([row({ id: 'a' }), row({ id: 'b' }).replace(' data-id="b"', '')]));
    expect(await failure(entryFor(noId))).toMatchObject({ reason: 'parse', message: 'page 1, row 2: id is missing' });
    const noHome = await startSite(() => page([row({}).replace('class="home"', 'class="host"')]));
    expect(await failure(entryFor(noHome))).toMatchObject({ reason: 'parse', message: 'page 1, row 1: home is missing' });
    const blankName = await startSite(() => page([row({})]));
    const named = { ...ROWS, name: '.title', home: undefined, away: undefined };
    expect(await failure(entryFor(blankName, { rows: named }))).toMatchObject({ reason: 'parse', message: 'page 1, row 1: name is missing' });
  });
});

describe('names', () => {
  it('are text: markup dropped, entities decoded, whitespace collapsed, script and template text left out', async () => {
    const site = await startSite(() =>
      page([
        row({
          id: ' 7 ',
          home: '\n  <b>Brighton &amp; Hove</b>\n<span>Albion</span><script>track("home")</script><template>hidden</template>',
          away: 'Paris&nbsp;Saint-Germain<br>FC',
        }),
        row({ id: '8', home: '&lt;b&gt;Bold&lt;/b&gt; United', away: '<div>Real</div><div>Sociedad</div>' }),
      ]) + '<template><table><tr class="ev" data-id="9"><td class="home">Ghost</td><td class="away">Town</td></tr></table></template>',
    );
    const { eventsFound, pages } = await scrape(entryFor(site));
    expect(eventsFound).toBe(2);
    const events = new Map(pages.flat().map((s) => [s.eventKey, [s.home, s.away, s.eventName]]));
    expect(Object.fromEntries(events)).toEqual({
      '7': ['Brighton & Hove Albion', 'Paris Saint-Germain FC', 'Brighton & Hove Albion v Paris Saint-Germain FC'],
      '8': ['<b>Bold</b> United', 'Real Sociedad', '<b>Bold</b> United v Real Sociedad'],
    });
  });

  it('a control character (even as an entity) or an overlong name fails the step as parse, never stored', async () => {
    for (const [home, what] of [
      ['Arse&#1;nal', 'holds a control character'],
      ['Arse\u0007nal', 'holds a control character'],
      ['A'.repeat(201), 'is longer than 200 characters'],
    ] as const) {
      const site = await startSite(() => page([row({ id: 'ok' }), row({ id: 'bad', home })]));
      const error = await failure(entryFor(site));
      expect(error.reason).toBe('parse');
      expect(error.message).toMatch(new RegExp(`^page 1, row 2: home ${what}`));
      expect(error.message).not.toContain('Arse');
    }
  });

  it('a market of repeated elements reads each selection\'s name within its element; a nameless one fails as parse', async () => {
    const totals = (over: string) =>
      `<tr class="ev" data-id="1"><td class="home">Arsenal</td><td class="away">Benfica</td><td><button data-sel="${over}">Over <b>-120</b></button><button data-sel="under">Under <b>EVS</b></button></td></tr>`;
    const rows = { ...ROWS, startsAt: undefined, markets: [{ name: 'total_goals_2.5', each: 'button[data-sel]', selection: { selector: '', attribute: 'data-sel' }, price: 'b' }] };
    const good = await startSite(() => page([totals('over')]));
    const selections = (await scrape(entryFor(good, { rows }))).pages.flat();
    expect(selections.map((s) => [s.market, s.selection, s.price, s.priceText])).toEqual([
      ['total_goals_2.5', 'over', 1.8333, '-120'],
      ['total_goals_2.5', 'under', 2, 'EVS'],
    ]);
    const bad = await startSite(() => page([totals(' ')]));
    expect(await failure(entryFor(bad, { rows }))).toMatchObject({ reason: 'parse', message: 'page 1, row 1: market total_goals_2.5, selection 1 is empty' });
  });
});

describe('start times', () => {
  it('an ISO date and time with its offset is read as UTC; anything else is omitted, not guessed', async () => {
    const times = ['2030-06-14T15:00:00+02:00', '2030-06-14 15:00Z', '2030-06-14T15:00:00.250+0100', '2030-06-14T15:00', 'Saturday 15:00', '2030-02-30T15:00:00Z', '2030-13-01T15:00:00Z', '2030-06-14T25:00:00Z'];
    const site = await startSite(() => page(times.map((startsAt, index) => row({ id: String(index), startsAt }))));
    const starts = new Map(
      (await scrape(entryFor(site))).pages.flat().map((s) => [s.eventKey, s.startsAt ?? null]),
    );
    expect(Object.fromEntries(starts)).toEqual({ '0': '2030-06-14T13:00:00.000Z', '1': '2030-06-14T15:00:00.000Z', '2': '2030-06-14T14:00:00.250Z', '3': null, '4': null, '5': null, '6': null, '7': null });
  });
});

describe('charsets', () => {
  const latin1 = (html: string) => Buffer.from(html, 'latin1');

  it('a windows-1252 page named by its Content-Type is decoded as windows-1252', async () => {
    const site = await startSite(() => ({ contentType: 'text/html; charset=windows-1252', body: latin1(page([row({ home: 'Atlético Madrid', away: 'Mönchengladbach' })])) }));
    const [selection] = (await scrape(entryFor(site))).pages.flat();
    expect([selection!.home, selection!.away]).toEqual(['Atlético Madrid', 'Mönchengladbach']);
  });

  it('a page that names its charset only in <meta> (iso-8859-1 read as windows-1252, as browsers do)', async () => {
    const body = latin1(page([row({ home: 'Atlético \x80', away: 'Deportivo Alavés' })]).replace('<head>', '<head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'));
    const site = await startSite(() => ({ contentType: 'text/html', body }));
    const [selection] = (await scrape(entryFor(site))).pages.flat();
    expect([selection!.home, selection!.away]).toEqual(['Atlético €', 'Deportivo Alavés']);
  });

  it('a page that names no charset is read as UTF-8', async () => {
    const site = await startSite(() => ({ contentType: 'text/html', body: Buffer.from(page([row({ home: 'Atlético', away: 'Beşiktaş' })]), 'utf8') }));
    const [selection] = (await scrape(entryFor(site))).pages.flat();
    expect([selection!.home, selection!.away]).toEqual(['Atlético', 'Beşiktaş']);
  });
});

describe('pagination', () => {
  const nextLink = { pagination: { nextLink: 'a[rel=next]' } };

  it('never follows a next link off the platform\'s origin or to a URL that is no http(s)', async () => {
    const elsewhere = await startSite(() => page([row({ id: 'foreign' })]));
    const port = new URL(elsewhere.origin).port;
    const links = [`${elsewhere.origin}/odds?page=2`, `//127.0.0.1:${port}/odds?page=2`, `http://localhost:${port}/odds`, 'javascript:location.href="/odds?page=2"', 'data:text/html,<tr class=ev data-id=x>', 'ftp://127.0.0.1/odds'];
    const site = await startSite((url) => page([row({ id: url.pathname })], `<a rel="next" href="${links[Number(url.pathname.split('/')[2])]!.replaceAll('"', '&quot;')}">Next</a>`));
    for (const index of links.keys()) {
      const { eventsFound } = await scrape(entryFor(site, nextLink, `/odds/${index}`));
      expect(eventsFound, links[index]).toBe(1);
    }
    expect(site.requests).toHaveLength(links.length);
    expect(elsewhere.requests).toEqual([]);
  });

  it('an endless chain of next links stops at pagination.maxPages, else at DEFAULT_MAX_PAGES', async () => {
    const site = await startSite((url) => {
      const n = Number(url.searchParams.get('page') ?? 1);
      return page([row({ id: `e${n}` })], `<a rel="next" href="/odds?page=${n + 1}">Next</a>`);
    });
    expect((await scrape(entryFor(site, { pagination: { nextLink: 'a[rel=next]', maxPages: 3 } }))).eventsFound).toBe(3);
    expect(site.requests).toEqual(['/odds', '/odds?page=2', '/odds?page=3']);
    site.requests.length = 0;
    expect((await scrape(entryFor(site, nextLink))).eventsFound).toBe(DEFAULT_MAX_PAGES);
    expect(site.requests).toHaveLength(DEFAULT_MAX_PAGES);
  });

  it('a next link back to a page already read ends the scrape', async () => {
    const site = await startSite((url) => page([row({ id: url.search || 'first' })], `<a rel="next" href="${url.search ? '/odds' : '/odds?page=2'}">Next</a>`));
    expect((await scrape(entryFor(site, nextLink))).eventsFound).toBe(2);
    expect(site.requests).toEqual(['/odds', '/odds?page=2']);
  });

  it('a later page without rows ends the listing (not a failure), whatever links it has', async () => {
    const site = await startSite((url) =>
      url.searchParams.get('page') === '2' ? page([], '<p>No more events</p><a rel="next" href="/odds?page=3">Next</a>') : page([row({ id: 'a' }), row({ id: 'b' })], '<a rel="next" href="/odds?page=2">Next</a>'),
    );
    const { eventsFound, pages } = await scrape(entryFor(site, nextLink));
    expect(eventsFound).toBe(2);
    expect(pages).toHaveLength(1);
    expect(site.requests).toEqual(['/odds', '/odds?page=2']);
  });

  it('a page parameter counts from start until a page without rows, keeping the rest of the query', async () => {
    const site = await startSite((url) => {
      const n = Number(url.searchParams.get('p'));
      return page(n < 3 ? [row({ id: `e${n}` })] : []);
    });
    const { eventsFound } = await scrape(entryFor(site, { pagination: { param: 'p', start: 0 } }, '/odds?sport=football'));
    expect(eventsFound).toBe(3);
    expect(site.requests).toEqual(['/odds?sport=football&p=0', '/odds?sport=football&p=1', '/odds?sport=football&p=2', '/odds?sport=football&p=3']);
  });

  it('the Basic credential of the configured URL goes to every page of its origin, linked relative or absolute', async () => {
    const site = await startSite((url) => {
      const n = Number(url.searchParams.get('page') ?? 1);
      const next = n === 1 ? '/odds?page=2' : `${site.origin}/odds?page=3`;
      return page([row({ id: `e${n}` })], n < 3 ? `<a rel="next" href="${next}">Next</a>` : '');
    });
    const url = new URL(`${site.origin}/odds`);
    url.username = 'reader';
    url.password = 'swordfish';
    await scrape({ ...entryFor(site, nextLink), url: url.toString() });
    const basic = `Basic ${Buffer.from('reader:swordfish').toString('base64')}`;
    expect(site.requests).toEqual(['/odds', '/odds?page=2', '/odds?page=3']);
    expect(site.authorizations).toEqual([basic, basic, basic]);
  });
});

describe('the entry', () => {
  const base = { name: 'testbook', kind: 'html', url: 'http://127.0.0.1:1/odds', rows: ROWS };
  const refusal = (entry: Record<string, unknown>) => {
    try {
      parsePlatformEntry(entry, 5_000, {});
    } catch (error) {
      if (error instanceof PlatformEntryError) return error.message;
      throw error;
    }
    return undefined;
  };

  it('is refused at start-up when a selector cannot run, participants come alone, or a key is unknown', () => {
    expect(refusal(base)).toBeUndefined();
    expect(refusal({ ...base, rows: { ...ROWS, event: 'tr[' } })).toMatch(/^platform testbook: rows\.event: is not a CSS selector/);
    expect(refusal({ ...base, rows: { ...ROWS, home: '.home:nope' } })).toMatch(/rows\.home/);
    expect(refusal({ ...base, rows: { ...ROWS, away: undefined } })).toMatch(/home and away go together/);
    expect(refusal({ ...base, rows: { ...ROWS, home: undefined, away: undefined } })).toMatch(/needs name, or home and away/);
    expect(refusal({ ...base, rows: { ...ROWS, colour: 'red' } })).toMatch(/unknown key "colour"/);
    expect(refusal({ ...base, url: 'file:///etc/passwd' })).toMatch(/^platform testbook: url/);
    expect(refusal({ ...base, pagination: { nextLink: 'a', param: 'page' } })).toMatch(/pagination/);
    const twice = { name: 'match_result', selections: [{ name: 'home', price: '.p1' }, { name: 'home', price: '.p2' }] };
    expect(refusal({ ...base, rows: { ...ROWS, markets: [twice] } })).toMatch(/selection names must be unique/);
  });
});
