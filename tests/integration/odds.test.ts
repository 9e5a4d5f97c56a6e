import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oddsUpsertCte, type NewOdds } from '../../src/db/tables/odds.js';
import { SIMULATED_BOOKMAKERS } from '../../src/platforms/simulatedFeeds.js';
import { SIMULATED_ODDS_API_BOOKMAKERS } from '../../src/platforms/simulator/oddsApiRoute.js';
import type { ApiErrorBody, BookmakerPrice, OddsPage, PlatformHistory, RunDetail, SportingEventOdds } from '../../src/shared/contract.js';
import { spawnService } from '../helpers/childService.js';
import { upsertOdds } from '../helpers/odds.js';
import { createTestDatabase } from '../helpers/testDatabase.js';
import { FAST_FEEDS, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// FAST_FEEDS: every simulated platform serves 2 pages of 5 sporting events (n = 0..9), a match result and
// total goals 2.5 (5 selections), each kind with its own ids and spellings; the odds API answers one request
// (the first page: n = 0..4) for its 3 bookmakers.
const EVENTS = 10;
const ODDS_API_EVENTS = 5;
const SELECTIONS = 5;
const PLATFORMS = Object.keys(SIMULATED_BOOKMAKERS);
/** Platforms that are their own only bookmaker (every kind but odds-api). */
const SINGLE = Object.entries(SIMULATED_BOOKMAKERS).filter(([, platform]) => platform.kind !== 'odds-api').length;
const AGGREGATED = SIMULATED_ODDS_API_BOOKMAKERS.length;
const PRICES = EVENTS * SELECTIONS * SINGLE + ODDS_API_EVENTS * SELECTIONS * AGGREGATED;

let server: TestServer;
let firstRun: RunDetail;
let secondRun: RunDetail;
let afterFirst: OddsPage;
let afterSecond: OddsPage;

async function runAll(): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: {} });
  expect(response.status).toBe(202);
  const run = (await response.json()) as RunDetail;
  return server.waitForRun(run.id, ['completed']);
}

async function odds(query = ''): Promise<OddsPage> {
  const response = await server.api(`/api/odds${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as OddsPage;
}

const pricesOf = (page: OddsPage) =>
  page.items.flatMap((event) =>
    event.markets.flatMap((market) =>
      market.selections.flatMap((selection) =>
        selection.prices.map((price) => ({ key: `${event.id}/${market.name}/${selection.name}/${price.platform}/${price.bookmaker}`, selection, price })),
      ),
    ),
  );

const ids = (page: OddsPage) => page.items.map((event) => event.id);

/** The simulator's number of a sporting event, read from a feed's listing of it (`ev-N`). */
const numberOf = (event: SportingEventOdds) => Number(event.listings.find((listing) => listing.platform === 'redfox')!.eventKey.slice(3));

/** Deletes what a test wrote through upsertOdds: the odds and listings of these event keys, then the sporting events left without a listing. */
async function forget(...eventKeys: string[]): Promise<void> {
  await server.db.query(`delete from odds where event_key = any($1)`, [eventKeys]);
  await server.db.query(`delete from event_listings where event_key = any($1)`, [eventKeys]);
  await server.db.query(`delete from sporting_events s where not exists (select 1 from event_listings l where l.sporting_event_id = s.id)`);
}

beforeAll(async () => {
  server = await startTestServer();
  firstRun = await runAll();
  afterFirst = await odds('?limit=50');
  secondRun = await runAll();
  afterSecond = await odds('?limit=50');
}, 60_000);
afterAll(async () => server?.close());

describe('GET /api/odds', () => {
  it("lists each sporting event once, matched across every platform's listing of it, in id order", () => {
    expect(afterFirst.nextCursor).toBeNull();
    expect(afterFirst.items).toHaveLength(EVENTS);
    expect(ids(afterFirst)).toEqual([...ids(afterFirst)].sort((a, b) => a - b));
    expect(afterFirst.items.map(numberOf).sort((a, b) => a - b)).toEqual([...Array(EVENTS).keys()]);
    for (const event of afterFirst.items) {
      const n = numberOf(event);
      // Each kind identifies and spells the sporting event its own way; all of them are this one.
      const expected = PLATFORMS.flatMap((platform) => {
        const kind = SIMULATED_BOOKMAKERS[platform]!.kind;
        if (kind === 'odds-api') return n < ODDS_API_EVENTS ? [{ platform, eventKey: `sim${String(n).padStart(6, '0')}` }] : [];
        const key = kind === 'feed' ? `ev-${n}` : kind === 'json' ? String(9000 + n) : kind === 'browser' ? `${platform[0]}-${n}` : String(40_100 + n);
        return [{ platform, eventKey: key }];
      });
      expect(event.listings.map(({ platform, eventKey }) => ({ platform, eventKey }))).toEqual(expected.sort((a, b) => a.platform.localeCompare(b.platform)));
      // Named as the first platform to list it named it.
      expect(event.listings.map((listing) => listing.eventName)).toContain(event.eventName);
      expect(Date.parse(event.startsAt!)).toBeGreaterThan(Date.now());
      expect(event.markets.map((market) => [market.name, market.selections.map((selection) => selection.name)])).toEqual([
        ['match_result', ['away', 'draw', 'home']],
        ['totals', ['over 2.5', 'under 2.5']],
      ]);
    }
  });

  it('gives each bookmaker latest price, the platform it came from and when it was scraped', async () => {
    const prices = pricesOf(afterFirst);
    expect(prices).toHaveLength(PRICES);
    const bookmakers = new Set(prices.map(({ price }) => `${price.platform}/${price.bookmaker}`));
    expect([...bookmakers].sort()).toEqual(
      [
        ...PLATFORMS.filter((platform) => SIMULATED_BOOKMAKERS[platform]!.kind !== 'odds-api').map((platform) => `${platform}/${platform}`),
        ...SIMULATED_ODDS_API_BOOKMAKERS.map((bookmaker) => `oddsline/${bookmaker.key}`),
      ].sort(),
    );
    for (const { price } of prices) {
      expect(price.runId).toBe(firstRun.id);
      expect(price.movement).toBe('new');
      expect(price.previousPrice).toBeNull();
      expect(Date.parse(price.scrapedAt)).toBeGreaterThanOrEqual(Date.parse(firstRun.startedAt!) - 1000);
      expect(Date.parse(price.scrapedAt)).toBeLessThanOrEqual(Date.parse(firstRun.finishedAt!) + 1000);
    }
    // The database holds the second run's prices now, and the first run's beside them.
    const [stored] = await server.db.query<{ price: string; previous_price: string }>(
      `select price, previous_price from odds where platform = 'redfox' and event_key = 'ev-3' and market = 'match_result' and selection = 'draw' and bookmaker = 'redfox'`,
    );
    const id = afterFirst.items.find((event) => numberOf(event) === 3)!.id;
    const key = `${id}/match_result/draw/redfox/redfox`;
    expect(prices.find((entry) => entry.key === key)?.price.price).toBe(Number(stored!.previous_price));
    expect(pricesOf(afterSecond).find((entry) => entry.key === key)?.price.price).toBe(Number(stored!.price));
  });

  it('keeps each price as the platform wrote it beside its decimal value', () => {
    const byPlatform = (platform: string) => pricesOf(afterSecond).filter(({ price }) => price.platform === platform).map(({ price }) => price);
    // The feed writes decimals, the JSON bookmaker fractions ("Evs" for 2), the HTML one American odds.
    for (const price of byPlatform('redfox')) expect(Number(price.priceText)).toBe(price.price);
    const fractions = byPlatform('quayside');
    expect(fractions).toHaveLength(EVENTS * SELECTIONS);
    for (const price of fractions) {
      const [numerator, denominator] = price.priceText === 'Evs' ? [1, 1] : price.priceText.split('/').map(Number);
      expect(price.price).toBeCloseTo(1 + numerator! / denominator!, 4);
    }
    const american = byPlatform('oakridge');
    expect(american).toHaveLength(EVENTS * SELECTIONS);
    for (const price of american) {
      expect(price.priceText).toMatch(/^[+-]\d+$/);
      const value = Number(price.priceText);
      expect(price.price).toBeCloseTo(value > 0 ? 1 + value / 100 : 1 + 100 / -value, 4);
    }
  });

  it('marks the best price of each selection across bookmakers, ties included', () => {
    for (const { selection } of pricesOf(afterSecond)) {
      const max = Math.max(...selection.prices.map((price) => price.price));
      expect(selection.bestPrice).toBe(max);
      expect(selection.prices.filter((price) => price.best).map((price) => price.bookmaker)).toEqual(
        selection.prices.filter((price) => price.price === max).map((price) => price.bookmaker),
      );
    }
    // Some bookmaker is not the best somewhere: the mark means something.
    expect(pricesOf(afterSecond).some(({ price }) => !price.best)).toBe(true);
  });

  it('shows how each price moved since that bookmaker previous scrape, its sporting event id unchanged', () => {
    expect(ids(afterSecond)).toEqual(ids(afterFirst));
    const before = new Map(pricesOf(afterFirst).map((entry) => [entry.key, entry.price]));
    const movements = new Set<string>();
    const after = pricesOf(afterSecond);
    expect(after).toHaveLength(PRICES);
    for (const { key, price } of after) {
      const previous = before.get(key)!;
      expect(price.runId).toBe(secondRun.id);
      expect(price.previousPrice).toBe(previous.price);
      expect(price.previousScrapedAt).toBe(previous.scrapedAt);
      const expected = price.price > previous.price ? 'up' : price.price < previous.price ? 'down' : 'unchanged';
      expect(price.movement).toBe(expected);
      movements.add(price.movement);
    }
    // The simulated platforms' default drift moves some prices up, some down and leaves some as they were.
    expect([...movements].sort()).toEqual(['down', 'unchanged', 'up']);
  });

  it('keeps the previous scrape price when one run writes a selection twice', async () => {
    const row = { eventKey: 'twice-ev', eventName: 'Twice v Once', market: 'match_result', selection: 'home', price: 2 };
    try {
      await upsertOdds(server.orm, 'redfox', 900_001, [row]);
      await upsertOdds(server.orm, 'redfox', 900_002, [{ ...row, price: 2.5 }]);
      await upsertOdds(server.orm, 'redfox', 900_002, [{ ...row, price: 2.4 }]);
      const page = await odds('?q=Twice%20v%20Once');
      const [price, ...more] = pricesOf(page).map((entry) => entry.price);
      expect(more).toEqual([]);
      expect(price).toMatchObject({ price: 2.4, priceText: '2.4', bookmaker: 'redfox', previousPrice: 2, movement: 'up', runId: 900_002 });
    } finally {
      await forget('twice-ev');
    }
  });

  it('rewrites a row in place on a later run (HOT update: no index entry), the table filled to half', async () => {
    const [table] = await server.db.query<{ reloptions: string[] }>(`select reloptions from pg_class where relname = 'odds'`);
    expect(table!.reloptions).toContain('fillfactor=50');
    // Three scrapes of 500 prices (the second adds the previous price, the third is the steady state). How
    // many of the third's updates were HOT: the session's not yet reported counters
    // (pg_stat_xact_user_tables, which may still hold earlier transactions' too) before and after it.
    const rows = (shift: number): NewOdds[] =>
      Array.from({ length: 500 }, (_, index) => {
        const price = 1.5 + ((index + shift) % 100) / 100;
        return { eventKey: `hot-ev-${Math.floor(index / 5)}`, eventName: 'Hot v Cold', market: 'match_result', selection: `s${index % 5}`, bookmaker: 'hot-test', price, priceText: String(price) };
      });
    const client = new pg.Client({ connectionString: server.db.url });
    await client.connect();
    const write = async (runId: number, shift: number) => {
      const cte = oddsUpsertCte('hot-test', runId, { odds: rows(shift), listings: [] });
      let n = 0;
      await client.query(`with ${cte.sql.replace(/\?/g, () => `$${++n}`)} select 1`, cte.params);
    };
    try {
      await write(910_001, 0);
      await write(910_002, 7);
      const counters = async () => {
        const result = await client.query<{ updated: string; hot: string }>(`select n_tup_upd as updated, n_tup_hot_upd as hot from pg_stat_xact_user_tables where relname = 'odds'`);
        return { updated: Number(result.rows[0]!.updated), hot: Number(result.rows[0]!.hot) };
      };
      // Within one transaction block the session reports nothing, so the difference is this write's alone.
      await client.query('begin');
      const before = await counters();
      await write(910_003, 14);
      const after = await counters();
      await client.query('commit');
      expect(after.updated - before.updated).toBe(500);
      // About 94% here; at the default fillfactor (100) about 3%: the pages the earlier scrapes filled have no room.
      expect(after.hot - before.hot).toBeGreaterThan(450);
    } finally {
      await server.db.query(`delete from odds where platform = 'hot-test'`);
      await client.end();
    }
  });

  it("filters by platform: the sporting events it lists and only its bookmakers' prices, best still compared with every bookmaker", async () => {
    const all = new Map(pricesOf(afterSecond).map((entry) => [entry.key, entry]));
    const check = (page: OddsPage, keep: (price: BookmakerPrice) => boolean, perSelection: number) => {
      const prices = pricesOf(page);
      for (const { key, selection, price } of prices) {
        expect(keep(price)).toBe(true);
        expect(selection.prices).toHaveLength(perSelection);
        expect(selection.bestPrice).toBe(all.get(key)!.selection.bestPrice);
        expect(price.best).toBe(all.get(key)!.price.best);
      }
      return prices;
    };

    const redfox = await odds('?platform=redfox&limit=50');
    expect(ids(redfox)).toEqual(ids(afterSecond));
    expect(check(redfox, (price) => price.platform === 'redfox' && price.bookmaker === 'redfox', 1)).toHaveLength(EVENTS * SELECTIONS);

    // An odds API lists fewer sporting events, each priced by its bookmakers.
    const aggregated = afterSecond.items.filter((event) => event.listings.some((listing) => listing.platform === 'oddsline'));
    expect(aggregated).toHaveLength(ODDS_API_EVENTS);
    const oddsline = await odds('?platform=oddsline&limit=50');
    expect(ids(oddsline)).toEqual(aggregated.map((event) => event.id));
    expect(check(oddsline, (price) => price.platform === 'oddsline', AGGREGATED)).toHaveLength(ODDS_API_EVENTS * SELECTIONS * AGGREGATED);
  });

  it("filters by bookmaker: the sporting events it prices and only its prices, best still compared with every bookmaker", async () => {
    const all = new Map(pricesOf(afterSecond).map((entry) => [entry.key, entry]));
    const tideway = await odds('?bookmaker=tideway&limit=50');
    expect(ids(tideway)).toEqual(afterSecond.items.filter((event) => event.listings.some((listing) => listing.platform === 'oddsline')).map((event) => event.id));
    const prices = pricesOf(tideway);
    expect(prices).toHaveLength(ODDS_API_EVENTS * SELECTIONS);
    for (const { key, selection, price } of prices) {
      expect(price).toMatchObject({ bookmaker: 'tideway', platform: 'oddsline' });
      expect(selection.prices).toHaveLength(1);
      expect(selection.bestPrice).toBe(all.get(key)!.selection.bestPrice);
      expect(price.best).toBe(all.get(key)!.price.best);
    }
    // A platform that is its own bookmaker, and both filters at once.
    expect(pricesOf(await odds('?bookmaker=luckyowl&limit=50')).map(({ price }) => price.bookmaker)).toEqual(Array(EVENTS * SELECTIONS).fill('luckyowl'));
    expect(pricesOf(await odds('?platform=oddsline&bookmaker=meridian&limit=50')).map(({ price }) => price.bookmaker)).toEqual(Array(ODDS_API_EVENTS * SELECTIONS).fill('meridian'));
    expect((await odds('?platform=redfox&bookmaker=meridian')).items).toEqual([]);
    expect((await odds('?bookmaker=nobody')).items).toEqual([]);
  });

  it("searches any platform's names of a sporting event, case-insensitive, with % and _ taken literally", async () => {
    const named = (text: string) => afterSecond.items.filter((event) => event.listings.some((listing) => listing.eventName.toLowerCase().includes(text))).map((event) => event.id);
    const expected = named('arsenal');
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(EVENTS);
    const page = await odds('?q=%20arSENAL%20');
    expect(ids(page)).toEqual(expected);
    // Only the JSON bookmaker writes "Arsenal FC": the whole sporting event is found, every platform's prices with it.
    const spelled = await odds('?q=arsenal%20fc');
    expect(ids(spelled)).toEqual(expected);
    expect(new Set(pricesOf(spelled).map(({ price }) => price.platform))).toEqual(new Set(PLATFORMS));
    // Narrowed to a platform, the search still reads every platform's names.
    expect(ids(await odds('?platform=redfox&q=arsenal%20fc'))).toEqual(expected);
    expect((await odds('?q=%25')).items).toEqual([]);
    expect((await odds('?q=_')).items).toEqual([]);
  });

  it("searches each platform's own, latest name for a sporting event it shares with another", async () => {
    const startsAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const row = { eventKey: 'named-ev', eventName: 'Alpha v Beta', startsAt, market: 'match_result', selection: 'home', price: 2 };
    try {
      await upsertOdds(server.orm, 'redfox', 900_003, [row]);
      // Another platform's listing of it: its own key, spelling and clock (5 minutes later).
      await upsertOdds(server.orm, 'luckyowl', 900_003, [{ ...row, eventKey: 'named-ev-2', eventName: 'ALPHA FC v Beta', startsAt: new Date(Date.parse(startsAt) + 300_000).toISOString() }]);
      const found = async (query: string) => (await odds(query)).items;
      const [event, ...more] = await found('?q=alpha%20fc');
      expect(more).toEqual([]);
      expect(event!.listings).toEqual([
        { platform: 'luckyowl', eventKey: 'named-ev-2', eventName: 'ALPHA FC v Beta' },
        { platform: 'redfox', eventKey: 'named-ev', eventName: 'Alpha v Beta' },
      ]);
      expect(pricesOf(await odds('?q=alpha%20fc')).map(({ price }) => price.platform).sort()).toEqual(['luckyowl', 'redfox']);
      expect((await found('?platform=redfox&q=alpha%20fc')).map((item) => item.id)).toEqual([event!.id]);
      expect((await found('?q=gamma')).map((item) => item.id)).toEqual([]);
      // Renamed by the platform (the same participants): the new name is found, the old one no longer, the sporting event kept.
      await upsertOdds(server.orm, 'redfox', 900_004, [{ ...row, eventName: 'Alpha F.C. v Beta' }]);
      expect((await found('?q=alpha%20f.c.')).map((item) => item.id)).toEqual([event!.id]);
      expect((await found('?q=alpha%20v')).map((item) => item.id)).toEqual([]);
      const names = await server.db.query(`select platform, event_name, sporting_event_id::int as id from event_listings where event_key like 'named-ev%' order by platform`);
      expect(names).toEqual([
        { platform: 'luckyowl', event_name: 'ALPHA FC v Beta', id: event!.id },
        { platform: 'redfox', event_name: 'Alpha F.C. v Beta', id: event!.id },
      ]);
    } finally {
      await forget('named-ev', 'named-ev-2');
    }
  });

  it('pages through sporting events with a page token, without gap or duplicate', async () => {
    const walk = async (query: string, limit: number) => {
      const seen: SportingEventOdds[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: OddsPage = await odds(`?${query}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        sizes.push(page.items.length);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return { seen, sizes };
    };
    const all = await walk('', 3);
    expect(all.sizes).toEqual([3, 3, 3, 1]);
    expect(all.seen).toEqual(afterSecond.items);

    const filtered = await walk('platform=luckyowl&q=v&', 4);
    expect(filtered.seen.map((event) => event.id)).toEqual(ids(afterSecond));
    const priced = await walk('bookmaker=meridian&', 2);
    expect(priced.sizes).toEqual([2, 2, 1]);
    expect(priced.seen.map((event) => event.id)).toEqual(afterSecond.items.filter((event) => event.listings.some((listing) => listing.platform === 'oddsline')).map((event) => event.id));
  });

  it('answers bad input with a 400 in the API error shape', async () => {
    const cases: [string, string][] = [
      ['?platform=nowhere', 'unknown_platform'],
      ['?bookmaker=no%20body', 'invalid_request'],
      [`?bookmaker=${'b'.repeat(101)}`, 'invalid_request'],
      ['?limit=0', 'invalid_request'],
      ['?limit=51', 'invalid_request'],
      ['?limit=ten', 'invalid_request'],
      ['?cursor=not-a-token', 'invalid_cursor'],
      [`?cursor=${Buffer.from('r:12').toString('base64url')}`, 'invalid_cursor'],
      // A page token from before sporting events had ids of their own.
      [`?cursor=${Buffer.from('o:ev-3').toString('base64url')}`, 'invalid_cursor'],
      [`?q=${'x'.repeat(101)}`, 'invalid_request'],
      ['?sort=price', 'invalid_request'],
    ];
    for (const [query, code] of cases) {
      const response = await server.api(`/api/odds${query}`);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as ApiErrorBody;
      expect(body.error.code, query).toBe(code);
      expect(body.error.message).toEqual(expect.any(String));
    }
  });
});

describe('odds retention (pruneOdds)', () => {
  it('deletes the prices a bookmaker has not scraped for longer than the retention, then their listings and the sporting events left without one', async () => {
    const count = async (sql: string) => (await server.db.query<{ n: number }>(sql))[0]!.n;
    // A sporting event only redfox lists, and one no listing points at yet (a matcher just made it).
    await upsertOdds(server.orm, 'redfox', 900_005, [{ eventKey: 'lonely-ev', eventName: 'Lonely v Nobody', market: 'match_result', selection: 'home', price: 3 }]);
    const [lonely] = await server.db.query<{ id: number }>(`select sporting_event_id::int as id from event_listings where event_key = 'lonely-ev'`);
    const [unlisted] = await server.db.query<{ id: number }>(`insert into sporting_events (event_name) values ('Just v Made') returning id::int`);
    const total = await count('select count(*)::int as n from odds');
    const redfox = await count(`select count(*)::int as n from odds where platform = 'redfox'`);
    expect(redfox).toBe(EVENTS * SELECTIONS + 1);
    await server.db.query(`update odds set scraped_at = now() - interval '8 days' where platform = 'redfox'`);
    await server.db.query(`update odds set scraped_at = now() - interval '6 days' where platform = 'luckyowl'`);
    await server.db.query(`update sporting_events set created_at = now() - interval '2 hours' where id <> $1`, [unlisted!.id]);
    // Each bookmaker's quality row, last written with its newest price.
    await server.db.query(
      `insert into bookmaker_quality (platform, bookmaker, updated_at) values ('redfox', 'redfox', now() - interval '8 days'), ('luckyowl', 'luckyowl', now() - interval '6 days')
       on conflict (platform, bookmaker) do update set updated_at = excluded.updated_at`,
    );

    expect(await server.runs.pruneOdds(7)).toBe(redfox);
    expect(await count('select count(*)::int as n from odds')).toBe(total - redfox);
    expect(await count(`select count(*)::int as n from odds where platform = 'luckyowl'`)).toBe(EVENTS * SELECTIONS);
    const shown = pricesOf(await odds('?limit=50')).map(({ price }): BookmakerPrice => price);
    expect(shown.some((price) => price.platform === 'redfox')).toBe(false);
    expect(shown).toHaveLength(PRICES - EVENTS * SELECTIONS);
    expect(server.logs.filter((line) => line.msg === 'pruned stale odds').map((line) => [line.deleted, line.listings_deleted, line.sporting_events_deleted])).toEqual([
      [redfox, EVENTS + 1, 1],
    ]);
    // The listings go with the prices: none left for redfox, every one kept for luckyowl.
    expect(await count(`select count(*)::int as n from event_listings where platform = 'redfox'`)).toBe(0);
    expect(await count(`select count(*)::int as n from event_listings where platform = 'luckyowl'`)).toBe(EVENTS);
    expect(await count(`select count(*)::int as n from event_listings l where not exists (select 1 from odds o where o.event_key = l.event_key and o.platform = l.platform)`)).toBe(0);
    // The sporting events other platforms still list stay; the one made a moment ago is not pruned before its listing is written.
    expect(await count(`select count(*)::int as n from sporting_events where id = ${lonely!.id}`)).toBe(0);
    expect(await count(`select count(*)::int as n from sporting_events where id = ${unlisted!.id}`)).toBe(1);
    expect(await count(`select count(*)::int as n from sporting_events`)).toBe(EVENTS + 1);
    // A bookmaker whose prices are gone leaves the quality rows (the Platforms page would call it stale forever).
    expect(await server.db.query(`select platform, bookmaker from bookmaker_quality where platform in ('redfox', 'luckyowl') order by platform`)).toEqual([{ platform: 'luckyowl', bookmaker: 'luckyowl' }]);
    expect(server.logs.find((line) => line.msg === 'pruned stale odds')!.bookmakers_deleted).toBe(1);
    await server.db.query(`delete from sporting_events where id = $1`, [unlisted!.id]);
  });
});

describe('simulated feeds price drift', () => {
  it('leaves prices unchanged from one scrape to the next with priceDrift 0', async () => {
    server.platforms.simulated!.set('luckyowl', { priceDrift: 0 });
    for (let i = 0; i < 2; i += 1) {
      const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['luckyowl'] } })).json()) as RunDetail;
      await server.waitForRun(created.id, ['completed']);
    }
    const prices = pricesOf(await odds('?platform=luckyowl&limit=50')).map(({ price }) => price);
    expect(prices).toHaveLength(EVENTS * SELECTIONS);
    expect(prices.every((price) => price.bookmaker === 'luckyowl')).toBe(true);
    expect(prices.every((price) => price.movement === 'unchanged' && price.previousPrice === price.price)).toBe(true);
  });
});

describe('the built service, started as npm start does', () => {
  it('serves odds and a platform history after a run (migration applied at start-up)', async () => {
    const db = await createTestDatabase();
    const service = await spawnService({ DATABASE_URL: db.url, SIM_FEEDS: FAST_FEEDS });
    try {
      const created = (await (await fetch(`${service.url}/api/runs`, { method: 'POST' })).json()) as RunDetail;
      await waitFor(async () => ((await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail).status === 'completed', {
        timeoutMs: 30_000,
        what: 'the run to complete',
      });
      const page = (await (await fetch(`${service.url}/api/odds?limit=50`)).json()) as OddsPage;
      expect(page.items).toHaveLength(EVENTS);
      expect(page.items.every((event) => event.listings.length >= PLATFORMS.length - 1)).toBe(true);
      expect(pricesOf(page)).toHaveLength(PRICES);
      expect(pricesOf(page).every(({ price }) => price.movement === 'new' && price.runId === created.id)).toBe(true);
      const history = (await (await fetch(`${service.url}/api/platforms/redfox/history`)).json()) as PlatformHistory;
      expect(history.items.map((scrape) => [scrape.runId, scrape.outcome])).toEqual([[created.id, 'completed']]);
    } finally {
      expect(await service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await db.drop();
    }
  }, 120_000);
});
