import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oddsUpsertCte } from '../../src/db/tables/odds.js';
import type { ApiErrorBody, BookmakerPrice, OddsPage, PlatformHistory, RunDetail, SportingEventOdds } from '../../src/shared/contract.js';
import { spawnService } from '../helpers/childService.js';
import { upsertOdds } from '../helpers/odds.js';
import { createTestDatabase } from '../helpers/testDatabase.js';
import { FAST_FEEDS, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// FAST_FEEDS: every bookmaker serves 2 pages of 5 sporting events (ev-0..ev-9), 2 markets, 5 selections.
const EVENTS = 10;
const SELECTIONS = 5;
const BOOKMAKERS = 6;

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
      market.selections.flatMap((selection) => selection.prices.map((price) => ({ key: `${event.eventKey}/${market.name}/${selection.name}/${price.platform}`, selection, price }))),
    ),
  );

beforeAll(async () => {
  server = await startTestServer();
  firstRun = await runAll();
  afterFirst = await odds('?limit=50');
  secondRun = await runAll();
  afterSecond = await odds('?limit=50');
}, 60_000);
afterAll(async () => server?.close());

describe('GET /api/odds', () => {
  it('lists every sporting event with each bookmaker latest price and when it was scraped', async () => {
    expect(afterFirst.items.map((event) => event.eventKey)).toEqual([...Array(EVENTS).keys()].map((n) => `ev-${n}`).sort());
    expect(afterFirst.nextCursor).toBeNull();
    const prices = pricesOf(afterFirst);
    expect(prices).toHaveLength(EVENTS * SELECTIONS * BOOKMAKERS);
    for (const { price } of prices) {
      expect(price.runId).toBe(firstRun.id);
      expect(price.movement).toBe('new');
      expect(price.previousPrice).toBeNull();
      expect(Date.parse(price.scrapedAt)).toBeGreaterThanOrEqual(Date.parse(firstRun.startedAt!) - 1000);
      expect(Date.parse(price.scrapedAt)).toBeLessThanOrEqual(Date.parse(firstRun.finishedAt!) + 1000);
    }
    // The database holds the second run's prices now, and the first run's beside them.
    const [stored] = await server.db.query<{ price: string; previous_price: string }>(
      `select price, previous_price from odds where platform = 'redfox' and event_key = 'ev-3' and market = 'match_result' and selection = 'draw'`,
    );
    const key = 'ev-3/match_result/draw/redfox';
    expect(prices.find((entry) => entry.key === key)?.price.price).toBe(Number(stored!.previous_price));
    expect(pricesOf(afterSecond).find((entry) => entry.key === key)?.price.price).toBe(Number(stored!.price));
  });

  it('marks the best price of each selection across bookmakers, ties included', () => {
    for (const { selection } of pricesOf(afterSecond)) {
      const max = Math.max(...selection.prices.map((price) => price.price));
      expect(selection.bestPrice).toBe(max);
      expect(selection.prices.filter((price) => price.best).map((price) => price.platform)).toEqual(
        selection.prices.filter((price) => price.price === max).map((price) => price.platform),
      );
    }
    // Some bookmaker is not the best somewhere: the mark means something.
    expect(pricesOf(afterSecond).some(({ price }) => !price.best)).toBe(true);
  });

  it('shows how each price moved since that bookmaker previous scrape', () => {
    const before = new Map(pricesOf(afterFirst).map((entry) => [entry.key, entry.price]));
    const movements = new Set<string>();
    for (const { key, price } of pricesOf(afterSecond)) {
      const previous = before.get(key)!;
      expect(price.runId).toBe(secondRun.id);
      expect(price.previousPrice).toBe(previous.price);
      expect(price.previousScrapedAt).toBe(previous.scrapedAt);
      const expected = price.price > previous.price ? 'up' : price.price < previous.price ? 'down' : 'unchanged';
      expect(price.movement).toBe(expected);
      movements.add(price.movement);
    }
    // The simulated feeds' default drift moves some prices up, some down and leaves some as they were.
    expect([...movements].sort()).toEqual(['down', 'unchanged', 'up']);
  });

  it('keeps the previous scrape price when one run writes a selection twice', async () => {
    const row = { eventKey: 'twice-ev', eventName: 'Twice v Once', market: 'match_result', selection: 'home', price: 2 };
    await upsertOdds(server.orm, 'redfox', 900_001, [row]);
    await upsertOdds(server.orm, 'redfox', 900_002, [{ ...row, price: 2.5 }]);
    await upsertOdds(server.orm, 'redfox', 900_002, [{ ...row, price: 2.4 }]);
    const page = await odds('?q=Twice%20v%20Once');
    const [price] = pricesOf(page).map((entry) => entry.price);
    expect(price).toMatchObject({ price: 2.4, previousPrice: 2, movement: 'up', runId: 900_002 });
    await server.db.query(`delete from odds where event_key = 'twice-ev'`);
    await server.db.query(`delete from sporting_events where event_key = 'twice-ev'`);
  });

  it('rewrites a row in place on a later run (HOT update: no index entry), the table filled to half', async () => {
    const [table] = await server.db.query<{ reloptions: string[] }>(`select reloptions from pg_class where relname = 'odds'`);
    expect(table!.reloptions).toContain('fillfactor=50');
    // Three scrapes of 500 prices (the second adds the previous price, the third is the steady state). How
    // many of the third's updates were HOT: the session's not yet reported counters
    // (pg_stat_xact_user_tables, which may still hold earlier transactions' too) before and after it.
    const rows = (shift: number) =>
      Array.from({ length: 500 }, (_, index) => ({ eventKey: `hot-ev-${Math.floor(index / 5)}`, eventName: 'Hot v Cold', market: 'match_result', selection: `s${index % 5}`, price: 1.5 + ((index + shift) % 100) / 100 }));
    const client = new pg.Client({ connectionString: server.db.url });
    await client.connect();
    const write = async (runId: number, shift: number) => {
      const cte = oddsUpsertCte('hot-test', runId, rows(shift));
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
      await server.db.query(`delete from sporting_events where platform = 'hot-test'`);
      await client.end();
    }
  });

  it('filters by bookmaker: only its prices, best still compared with every bookmaker', async () => {
    const page = await odds('?platform=redfox&limit=50');
    expect(page.items.map((event) => event.eventKey)).toEqual(afterSecond.items.map((event) => event.eventKey));
    const all = new Map(pricesOf(afterSecond).map((entry) => [entry.key, entry]));
    const prices = pricesOf(page);
    expect(prices).toHaveLength(EVENTS * SELECTIONS);
    for (const { key, selection, price } of prices) {
      expect(price.platform).toBe('redfox');
      expect(selection.prices).toHaveLength(1);
      expect(selection.bestPrice).toBe(all.get(key)!.selection.bestPrice);
      expect(price.best).toBe(all.get(key)!.price.best);
    }
  });

  it('searches sporting event names, case-insensitive, with % and _ taken literally', async () => {
    const expected = afterSecond.items.filter((event) => event.eventName.includes('Arsenal')).map((event) => event.eventKey);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(EVENTS);
    const page = await odds('?q=%20arSENAL%20');
    expect(page.items.map((event) => event.eventKey)).toEqual(expected);
    expect((await odds('?q=%25')).items).toEqual([]);
    expect((await odds('?q=_')).items).toEqual([]);
  });

  it("searches each bookmaker's own, latest name for a sporting event", async () => {
    const row = { eventKey: 'named-ev', eventName: 'Alpha v Beta', market: 'match_result', selection: 'home', price: 2 };
    await upsertOdds(server.orm, 'redfox', 900_003, [row]);
    await upsertOdds(server.orm, 'luckyowl', 900_003, [{ ...row, eventName: 'Gamma v Delta' }]);
    const keys = async (query: string) => (await odds(query)).items.map((event) => event.eventKey);
    expect(await keys('?q=gamma')).toEqual(['named-ev']);
    expect(pricesOf(await odds('?q=gamma')).map(({ price }) => price.platform).sort()).toEqual(['luckyowl', 'redfox']);
    expect(await keys('?platform=redfox&q=gamma')).toEqual([]);
    expect(await keys('?platform=redfox&q=alpha')).toEqual(['named-ev']);
    // Renamed by the bookmaker: the new name is found, the old one no longer.
    await upsertOdds(server.orm, 'redfox', 900_004, [{ ...row, eventName: 'Alpha FC v Beta' }]);
    expect(await keys('?q=alpha%20fc')).toEqual(['named-ev']);
    expect(await keys('?q=alpha%20v')).toEqual([]);
    const names = await server.db.query(`select platform, event_name from sporting_events where event_key = 'named-ev' order by platform`);
    expect(names).toEqual([
      { platform: 'luckyowl', event_name: 'Gamma v Delta' },
      { platform: 'redfox', event_name: 'Alpha FC v Beta' },
    ]);
    await server.db.query(`delete from odds where event_key = 'named-ev'`);
    await server.db.query(`delete from sporting_events where event_key = 'named-ev'`);
  });

  it('pages through sporting events with a page token, without gap or duplicate', async () => {
    const seen: SportingEventOdds[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page: OddsPage = await odds(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      sizes.push(page.items.length);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 3, 1]);
    expect(seen).toEqual(afterSecond.items);

    const filtered: string[] = [];
    cursor = null;
    do {
      const page: OddsPage = await odds(`?platform=luckyowl&q=v&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      filtered.push(...page.items.map((event) => event.eventKey));
      cursor = page.nextCursor;
    } while (cursor);
    expect(filtered).toEqual(afterSecond.items.map((event) => event.eventKey));
  });

  it('answers bad input with a 400 in the API error shape', async () => {
    const cases: [string, string][] = [
      ['?platform=nowhere', 'unknown_platform'],
      ['?limit=0', 'invalid_request'],
      ['?limit=51', 'invalid_request'],
      ['?limit=ten', 'invalid_request'],
      ['?cursor=not-a-token', 'invalid_cursor'],
      [`?cursor=${Buffer.from('r:12').toString('base64url')}`, 'invalid_cursor'],
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
  it('deletes the prices a bookmaker has not scraped for longer than the retention, keeps the rest', async () => {
    const count = async (sql: string) => (await server.db.query<{ n: number }>(sql))[0]!.n;
    const total = await count('select count(*)::int as n from odds');
    const redfox = await count(`select count(*)::int as n from odds where platform = 'redfox'`);
    await server.db.query(`update odds set scraped_at = now() - interval '8 days' where platform = 'redfox'`);
    await server.db.query(`update odds set scraped_at = now() - interval '6 days' where platform = 'luckyowl'`);

    expect(await server.runs.pruneOdds(7)).toBe(redfox);
    expect(await count('select count(*)::int as n from odds')).toBe(total - redfox);
    expect(await count(`select count(*)::int as n from odds where platform = 'luckyowl'`)).toBe(EVENTS * SELECTIONS);
    const shown = pricesOf(await odds('?limit=50')).map(({ price }): BookmakerPrice => price);
    expect(shown.some((price) => price.platform === 'redfox')).toBe(false);
    expect(shown).toHaveLength(EVENTS * SELECTIONS * (BOOKMAKERS - 1));
    expect(server.logs.filter((line) => line.msg === 'pruned stale odds').map((line) => [line.deleted, line.sporting_events_deleted])).toEqual([[redfox, EVENTS]]);
    // The names go with the prices: none left for redfox, every one kept for luckyowl.
    expect(await count(`select count(*)::int as n from sporting_events where platform = 'redfox'`)).toBe(0);
    expect(await count(`select count(*)::int as n from sporting_events where platform = 'luckyowl'`)).toBe(EVENTS);
    expect(await count(`select count(*)::int as n from sporting_events s where not exists (select 1 from odds o where o.event_key = s.event_key and o.platform = s.platform)`)).toBe(0);
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
      expect(pricesOf(page)).toHaveLength(EVENTS * SELECTIONS * BOOKMAKERS);
      expect(pricesOf(page).every(({ price }) => price.movement === 'new' && price.runId === created.id)).toBe(true);
      const history = (await (await fetch(`${service.url}/api/platforms/redfox/history`)).json()) as PlatformHistory;
      expect(history.items.map((scrape) => [scrape.runId, scrape.outcome])).toEqual([[created.id, 'completed']]);
    } finally {
      expect(await service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await db.drop();
    }
  }, 120_000);
});
