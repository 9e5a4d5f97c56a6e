import { boundRowCount, boundRows } from '../boundStatement.js';
import type { Orm } from '../database.js';
import { sqlArray } from '../sqlArray.js';
import { sportingEventsUpsert } from './sportingEvents.js';

/**
 * Who writes `odds`: the odds upsert (`oddsUpsertCte`), carried by a step's statements
 * (tables/platformSteps.ts `updateStepProgress`, and the step's final write, the guard of its
 * `step.finished` event in events/eventGuard.ts); `deleteStaleOdds` (retention, odds/pruneOdds.ts).
 * Read by GET /api/odds (`selectOddsPage`, odds/oddsQuery.ts).
 */

/** One price to store (an adapter's ScrapedSelection has this shape). */
export interface NewOdds {
  eventKey: string;
  eventName: string;
  market: string;
  selection: string;
  price: number;
}

/**
 * What an upsert sets on a row that exists: the row's old price and scrape time move to
 * previous_price/previous_scraped_at, so movement is "since this bookmaker's previous scrape"; a second
 * write in the same run keeps the previous scrape's.
 */
export const ODDS_UPDATE_SET = `previous_price = case when odds.run_id = excluded.run_id then odds.previous_price else odds.price end,
       previous_scraped_at = case when odds.run_id = excluded.run_id then odds.previous_scraped_at else odds.scraped_at end,
       price = excluded.price, event_name = excluded.event_name, scraped_at = excluded.scraped_at, run_id = excluded.run_id`;

/** A batch without repeated selections: a page may list one twice, and ON CONFLICT cannot touch a row twice in a statement. */
export function uniqueSelections<T extends NewOdds>(batch: T[]): T[] {
  return [...new Map(batch.map((row) => [`${row.eventKey}\u0000${row.market}\u0000${row.selection}`, row])).values()];
}

/**
 * The odds upsert as SQL fragments of a `with` list (data-modifying CTEs, the last `odds_upsert`) so that
 * a platform step's own write can carry it: the latest price per natural key, never a duplicate row
 * (ODDS_UPDATE_SET on an existing one). The same statement records each sporting event's name for this
 * bookmaker (sportingEventsUpsert), so a sporting event with odds always has its name row.
 */
export function oddsUpsertCte(platform: string, runId: number, batch: NewOdds[]): { sql: string; params: unknown[] } {
  const rows = uniqueSelections(batch);
  return {
    sql: `odds_in as (
     select * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[]) as u(event_key, event_name, market, selection, price)
   ),
   sporting_events_upsert as (${sportingEventsUpsert('odds_in', '?')}),
   odds_upsert as (
     insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
     select ?, event_key, event_name, market, selection, price, now(), ?::bigint from odds_in
     on conflict (event_key, market, selection, platform)
     do update set ${ODDS_UPDATE_SET})`,
    params: [
      sqlArray(rows.map((row) => row.eventKey)),
      sqlArray(rows.map((row) => row.eventName)),
      sqlArray(rows.map((row) => row.market)),
      sqlArray(rows.map((row) => row.selection)),
      sqlArray(rows.map((row) => row.price)),
      platform,
      platform,
      runId,
    ],
  };
}

/** Deletes the prices a bookmaker has not scraped for over `retentionDays` days; returns how many. */
export function deleteStaleOdds(orm: Orm, retentionDays: number): Promise<number> {
  return boundRowCount(orm, `delete from odds where scraped_at < now() - make_interval(days => ?)`, [retentionDays]);
}

export interface OddsFilter {
  /** Bookmakers whose prices count (the configured platforms). */
  platforms: string[];
  /** Only this bookmaker's sporting events and prices; best prices still compare every bookmaker. */
  platform?: string;
  /** Case-insensitive substring of the sporting event's name. */
  search?: string;
  limit: number;
  /** Sporting events after this event key (decoded page token). */
  afterEventKey?: string;
}

export interface OddsRow {
  event_key: string;
  event_name: string;
  market: string;
  selection: string;
  platform: string;
  price: string;
  scraped_at: Date | string;
  run_id: string;
  previous_price: string | null;
  previous_scraped_at: Date | string | null;
}

/** The page's statement, exported for the bench's EXPLAIN. One page of event keys, then their rows. */
export function oddsPageSql(filter: OddsFilter): { sql: string; params: unknown[] } {
  // Every page walks the primary key (event_key, market, selection, platform) in order; the bookmaker is its last column.
  const where = [filter.platform ? 'o.platform = ?' : 'o.platform = any(?::text[])'];
  const params: unknown[] = [filter.platform ?? sqlArray(filter.platforms)];
  if (filter.search) {
    // The bookmaker's own name for the sporting event, found through the trigram index of sporting_events.
    where.push(`(o.event_key, o.platform) in (select s.event_key, s.platform from sporting_events s where s.event_name ilike ?)`);
    params.push(`%${filter.search.replace(/[\\%_]/g, '\\$&')}%`);
  }
  if (filter.afterEventKey !== undefined) {
    where.push('o.event_key > ?');
    params.push(filter.afterEventKey);
  }
  // One extra sporting event tells whether there is a next page.
  params.push(filter.limit + 1, sqlArray(filter.platforms));
  const sql = `with page as (
      select distinct o.event_key from odds o
      where ${where.join(' and ')}
      order by o.event_key
      limit ?
    )
    select o.event_key, o.event_name, o.market, o.selection, o.platform, o.price, o.scraped_at, o.run_id,
      o.previous_price, o.previous_scraped_at
    from page join odds o on o.event_key = page.event_key
    where o.platform = any(?::text[])
    order by o.event_key, o.market, o.selection, o.platform`;
  return { sql, params };
}

/** The rows of one odds page (limit + 1 sporting events), ordered by event, market, selection, bookmaker. */
export function selectOddsPage(orm: Orm, filter: OddsFilter): Promise<OddsRow[]> {
  const { sql, params } = oddsPageSql(filter);
  return boundRows<OddsRow>(orm, sql, params);
}
