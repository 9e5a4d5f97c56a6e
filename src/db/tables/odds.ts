import { boundRowCount, boundRows } from '../boundStatement.js';
import type { Orm } from '../database.js';
import { sqlArray } from '../sqlArray.js';
import { listingsUpsert, type NewListing } from './eventListings.js';

/**
 * Who writes `odds`: the odds upsert (`oddsUpsertCte`), carried by a step's statements
 * (tables/platformSteps.ts `updateStepProgress`, and the step's final write, the guard of its
 * `step.finished` event in events/eventGuard.ts); `deleteStaleOdds` (retention, odds/pruneOdds.ts).
 * Read by GET /api/odds (`selectOddsPage`, odds/oddsQuery.ts).
 */

/** One price to store, its market and selection already canonical (platforms/matching/selections.ts). */
export interface NewOdds {
  eventKey: string;
  eventName: string;
  market: string;
  selection: string;
  bookmaker: string;
  price: number;
  priceText: string;
}

/** What a step writes: its prices, and its listings each matched to a sporting event (odds/sportingEventMatcher.ts). */
export interface MatchedBatch {
  /** Each selection once (uniqueSelections: ON CONFLICT cannot touch a row twice in a statement), as the matcher writes them. */
  odds: NewOdds[];
  listings: NewListing[];
}

/**
 * What an upsert sets on a row that exists: the row's old price and scrape time move to
 * previous_price/previous_scraped_at, so movement is "since this bookmaker's previous scrape"; a second
 * write in the same run keeps the previous scrape's.
 */
export const ODDS_UPDATE_SET = `previous_price = case when odds.run_id = excluded.run_id then odds.previous_price else odds.price end,
       previous_scraped_at = case when odds.run_id = excluded.run_id then odds.previous_scraped_at else odds.scraped_at end,
       price = excluded.price, price_text = excluded.price_text, event_name = excluded.event_name, scraped_at = excluded.scraped_at, run_id = excluded.run_id`;

/** A batch without repeated selections: a page may list one twice, and ON CONFLICT cannot touch a row twice in a statement. */
export function uniqueSelections<T extends NewOdds>(batch: T[]): T[] {
  const at = new Map<string, number>();
  // A copy only once a repeat is found (most batches have none): each selection at its first place, its last price.
  let unique: T[] | undefined;
  for (let index = 0; index < batch.length; index += 1) {
    const row = batch[index]!;
    const key = row.eventKey + '\u0000' + row.market + '\u0000' + row.selection + '\u0000' + row.bookmaker;
    const seen = at.get(key);
    if (seen !== undefined) {
      unique ??= batch.slice(0, index);
      unique[seen] = row;
    } else if (unique) {
      at.set(key, unique.length);
      unique.push(row);
    } else {
      at.set(key, index);
    }
  }
  return unique ?? batch;
}

/**
 * The odds upsert as SQL fragments of a `with` list (data-modifying CTEs, the last `odds_upsert`) so that
 * a platform step's own write can carry it: the latest price per natural key, never a duplicate row
 * (ODDS_UPDATE_SET on an existing one). The same statement records the platform's listings
 * (listingsUpsert), so a sporting event with odds always has its listing.
 */
export function oddsUpsertCte(platform: string, runId: number, batch: MatchedBatch): { sql: string; params: unknown[] } {
  const rows = batch.odds;
  const listings = listingsUpsert(platform, batch.listings);
  return {
    sql: `odds_in as (
     select * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::text[]) as u(event_key, event_name, market, selection, bookmaker, price, price_text)
   ),
   ${listings.sql},
   odds_upsert as (
     insert into odds (platform, event_key, event_name, market, selection, bookmaker, price, price_text, scraped_at, run_id)
     select ?, event_key, event_name, market, selection, bookmaker, price, price_text, now(), ?::bigint from odds_in
     on conflict (platform, event_key, market, selection, bookmaker)
     do update set ${ODDS_UPDATE_SET})`,
    params: [
      sqlArray(rows.map((row) => row.eventKey)),
      sqlArray(rows.map((row) => row.eventName)),
      sqlArray(rows.map((row) => row.market)),
      sqlArray(rows.map((row) => row.selection)),
      sqlArray(rows.map((row) => row.bookmaker)),
      sqlArray(rows.map((row) => row.price)),
      sqlArray(rows.map((row) => row.priceText)),
      ...listings.params,
      platform,
      runId,
    ],
  };
}

/** Each bookmaker's newest price on the configured platforms (at most `limit` bookmakers, the freshest first). */
export function selectNewestPrices(orm: Orm, platforms: readonly string[], limit: number): Promise<{ platform: string; bookmaker: string; newest: Date | string }[]> {
  return boundRows(
    orm,
    `select platform, bookmaker, max(scraped_at) as newest from odds where platform = any(?::text[])
     group by platform, bookmaker order by newest desc, platform, bookmaker limit ?`,
    [sqlArray(platforms), limit],
  );
}

/** Deletes the prices a bookmaker has not scraped for over `retentionDays` days; returns how many. */
export function deleteStaleOdds(orm: Orm, retentionDays: number): Promise<number> {
  return boundRowCount(orm, `delete from odds where scraped_at < now() - make_interval(days => ?)`, [retentionDays]);
}

export interface OddsFilter {
  /** Platforms whose prices count (the configured ones). */
  platforms: string[];
  /** Only sporting events this platform lists, and only its prices; best prices still compare every bookmaker. */
  platform?: string;
  /** Only sporting events this bookmaker prices, and only its prices; best prices still compare every bookmaker. */
  bookmaker?: string;
  /** Case-insensitive substring of a platform's name for the sporting event. */
  search?: string;
  limit: number;
  /** Sporting events after this id (decoded page token). */
  afterId?: number;
}

export interface OddsRow {
  sporting_event_id: string;
  sporting_event_name: string;
  starts_at: Date | string | null;
  event_key: string;
  event_name: string;
  market: string;
  selection: string;
  platform: string;
  bookmaker: string;
  price: string;
  price_text: string;
  scraped_at: Date | string;
  run_id: string;
  previous_price: string | null;
  previous_scraped_at: Date | string | null;
}

/**
 * A selection as its sporting event names it: a listing with home and away the other way round (`swapped`)
 * has its `home…`/`away…` selections (match result, spreads) read as the other side's.
 */
const SHOWN_SELECTION = `case when l.swapped and o.selection ~ '^(home|away)( |$)'
      then (case when left(o.selection, 4) = 'home' then 'away' else 'home' end) || substr(o.selection, 5)
      else o.selection end`;

/**
 * The page's statement, exported for the bench's EXPLAIN. One page of sporting event ids (walking the
 * listings' sporting_event_id index in order), then every configured platform's prices for them.
 */
export function oddsPageSql(filter: OddsFilter): { sql: string; params: unknown[] } {
  const where = [filter.platform ? 'l.platform = ?' : 'l.platform = any(?::text[])'];
  const params: unknown[] = [filter.platform ?? sqlArray(filter.platforms)];
  if (filter.bookmaker) {
    where.push('exists (select 1 from odds b where b.platform = l.platform and b.event_key = l.event_key and b.bookmaker = ?)');
    params.push(filter.bookmaker);
  }
  if (filter.search) {
    // Any platform's own name for the sporting event, found through the trigram index of event_listings.
    where.push('l.sporting_event_id in (select s.sporting_event_id from event_listings s where s.event_name ilike ? and s.platform = any(?::text[]))');
    params.push(`%${filter.search.replace(/[\\%_]/g, '\\$&')}%`, sqlArray(filter.platforms));
  }
  if (filter.afterId !== undefined) {
    where.push('l.sporting_event_id > ?');
    params.push(filter.afterId);
  }
  // One extra sporting event tells whether there is a next page.
  params.push(filter.limit + 1, sqlArray(filter.platforms));
  const sql = `with page as (
      select distinct l.sporting_event_id as id from event_listings l
      where ${where.join(' and ')}
      order by 1
      limit ?
    )
    select page.id as sporting_event_id, se.event_name as sporting_event_name, se.starts_at,
      o.event_key, o.event_name, o.market, shown.selection, o.platform, o.bookmaker, o.price, o.price_text, o.scraped_at, o.run_id,
      o.previous_price, o.previous_scraped_at
    from page
    join sporting_events se on se.id = page.id
    join event_listings l on l.sporting_event_id = page.id and l.platform = any(?::text[])
    join odds o on o.platform = l.platform and o.event_key = l.event_key
    cross join lateral (select ${SHOWN_SELECTION} as selection) shown
    order by page.id, o.market, shown.selection, o.bookmaker, o.platform`;
  return { sql, params };
}

export interface ConsensusRow {
  sporting_event_id: string;
  market: string;
  selection: string;
  platform: string;
  bookmaker: string;
  price: number;
  run_id: string;
}

/**
 * Every current price of each selection a run wrote a price for (each bookmaker's, whichever run wrote it),
 * compared as each listing shows it, ordered by selection: what outliers are judged on after the run
 * (quality/outliers.ts, the same rule as GET /api/odds).
 */
export function selectRunConsensus(orm: Orm, runId: number): Promise<ConsensusRow[]> {
  const shown = (listing: string, odds: string) => SHOWN_SELECTION.replaceAll('l.', `${listing}.`).replaceAll('o.', `${odds}.`);
  return boundRows<ConsensusRow>(
    orm,
    `with touched as (
       select distinct l.sporting_event_id, o.market, ${shown('l', 'o')} as selection
       from odds o join event_listings l on l.platform = o.platform and l.event_key = o.event_key
       where o.run_id = ? and l.sporting_event_id is not null
     )
     select t.sporting_event_id, t.market, t.selection, o2.platform, o2.bookmaker, o2.price::float8 as price, o2.run_id
     from touched t
     join event_listings l2 on l2.sporting_event_id = t.sporting_event_id
     join odds o2 on o2.platform = l2.platform and o2.event_key = l2.event_key and o2.market = t.market
     where ${shown('l2', 'o2')} = t.selection
     order by t.sporting_event_id, t.market, t.selection`,
    [runId],
  );
}

/** The rows of one odds page (limit + 1 sporting events), ordered by sporting event, market, selection, bookmaker. */
export function selectOddsPage(orm: Orm, filter: OddsFilter): Promise<OddsRow[]> {
  const { sql, params } = oddsPageSql(filter);
  return boundRows<OddsRow>(orm, sql, params);
}
