import { boundStatement } from './boundStatement.js';
import type { Orm } from './database.js';
import { sqlArray } from './sqlArray.js';
import type { ScrapedSelection } from '../platforms/adapter.js';

/**
 * What an upsert sets on a row that exists: the row's old price and scrape time move to
 * previous_price/previous_scraped_at, so movement is "since this bookmaker's previous scrape"; a second
 * write in the same run keeps the previous scrape's.
 */
export const ODDS_UPDATE_SET = `previous_price = case when odds.run_id = excluded.run_id then odds.previous_price else odds.price end,
       previous_scraped_at = case when odds.run_id = excluded.run_id then odds.previous_scraped_at else odds.scraped_at end,
       price = excluded.price, event_name = excluded.event_name, scraped_at = excluded.scraped_at, run_id = excluded.run_id`;

/**
 * Records the names of the sporting events in `source` (a relation with event_key and event_name) for
 * the bookmaker `platform` (an SQL placeholder) in `sporting_events`; an unchanged name is not rewritten.
 */
export const sportingEventsUpsert = (source: string, platform: string) => `insert into sporting_events (event_key, platform, event_name)
     select distinct on (event_key) event_key, ${platform}, event_name from ${source} order by event_key
     on conflict (event_key, platform)
     do update set event_name = excluded.event_name where sporting_events.event_name is distinct from excluded.event_name`;

/** A batch without repeated selections: a page may list one twice, and ON CONFLICT cannot touch a row twice in a statement. */
export function uniqueSelections(batch: ScrapedSelection[]): ScrapedSelection[] {
  return [...new Map(batch.map((row) => [`${row.eventKey}\u0000${row.market}\u0000${row.selection}`, row])).values()];
}

/**
 * The odds upsert as SQL fragments of a `with` list (data-modifying CTEs, the last `odds_upsert`) so that
 * a platform step's own write can carry it: the latest price per natural key, never a duplicate row
 * (ODDS_UPDATE_SET on an existing one). The same statement records each sporting event's name for this
 * bookmaker (sportingEventsUpsert), so a sporting event with odds always has its name row.
 */
export function oddsUpsertCte(platform: string, runId: number, batch: ScrapedSelection[]): { sql: string; params: unknown[] } {
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

/** Upserts one batch of odds in a single statement (tests, benches; the runner writes its odds with its step's writes). */
export async function upsertOdds(orm: Orm, platform: string, runId: number, batch: ScrapedSelection[]): Promise<void> {
  if (batch.length === 0) return;
  const cte = oddsUpsertCte(platform, runId, batch);
  await boundStatement(orm, `with ${cte.sql} select 1`, cte.params);
}
