import { boundRowCount } from '../boundStatement.js';
import type { Orm } from '../database.js';

/**
 * Who writes `sporting_events` (the name index of GET /api/odds's search): the odds upsert
 * (tables/odds.ts `oddsUpsertCte`) carries `sportingEventsUpsert` as a CTE, so a sporting event with odds
 * always has its name row; `deleteSportingEventsWithoutOdds` prunes it with the odds (odds/pruneOdds.ts).
 * Read by the odds page's name search (tables/odds.ts `oddsPageSql`).
 */

/**
 * Records the names of the sporting events in `source` (a relation with event_key and event_name) for
 * the bookmaker `platform` (an SQL placeholder) in `sporting_events`; an unchanged name is not rewritten.
 */
export const sportingEventsUpsert = (source: string, platform: string) => `insert into sporting_events (event_key, platform, event_name)
     select distinct on (event_key) event_key, ${platform}, event_name from ${source} order by event_key
     on conflict (event_key, platform)
     do update set event_name = excluded.event_name where sporting_events.event_name is distinct from excluded.event_name`;

/** Deletes the names of sporting events a bookmaker no longer has a price for; returns how many. */
export function deleteSportingEventsWithoutOdds(orm: Orm): Promise<number> {
  return boundRowCount(orm, `delete from sporting_events s where not exists (select 1 from odds o where o.event_key = s.event_key and o.platform = s.platform)`);
}
