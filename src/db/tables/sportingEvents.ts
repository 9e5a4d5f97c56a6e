import { boundRowCount } from '../boundStatement.js';
import type { Orm } from '../database.js';
import type { SqlExecutor } from '../sqlExecutor.js';
import { sqlArray } from '../sqlArray.js';

/**
 * Who writes `sporting_events` (oddswatch's own sporting events, what listings are matched to): the matcher
 * inserts the ones no listing matched yet (`insertSportingEvents`, odds/sportingEventMatcher.ts, under the
 * matching lock); `deleteSportingEventsWithoutListings` prunes them (odds/pruneOdds.ts).
 * Read by the matcher (`selectMatchCandidates`) and the odds page (its name and start time).
 */

export interface MatchCandidate extends Record<string, unknown> {
  id: string;
  first_key: string;
  second_key: string;
  home_key: string | null;
  starts_at: Date;
}

/** Sporting events of these participant pairs (keys in sorted order) starting between `from` and `to`. */
export function selectMatchCandidates(sql: SqlExecutor, pairs: readonly (readonly [string, string])[], from: Date, to: Date): Promise<MatchCandidate[]> {
  if (pairs.length === 0) return Promise.resolve([]);
  return sql<MatchCandidate>(
    `select s.id, s.first_key, s.second_key, s.home_key, s.starts_at from sporting_events s
     join unnest(?::text[], ?::text[]) as p(first_key, second_key) on s.first_key = p.first_key and s.second_key = p.second_key
     where s.starts_at between ?::timestamptz and ?::timestamptz`,
    [sqlArray(pairs.map((pair) => pair[0])), sqlArray(pairs.map((pair) => pair[1])), from.toISOString(), to.toISOString()],
  );
}

export interface NewSportingEvent {
  eventName: string;
  /** Participant keys, aliases applied, in sorted order; null for one that can never be matched. */
  firstKey: string | null;
  secondKey: string | null;
  /** Which of them is at home. */
  homeKey: string | null;
  startsAt: string | null;
}

/** Inserts sporting events; their ids, in the order given. */
export async function insertSportingEvents(sql: SqlExecutor, events: readonly NewSportingEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = await sql<{ id: string; ord: string }>(
    `with made as (
       insert into sporting_events (event_name, first_key, second_key, home_key, starts_at)
       select event_name, first_key, second_key, home_key, starts_at
       from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[]) with ordinality as u(event_name, first_key, second_key, home_key, starts_at, ord)
       order by ord
       returning id
     )
     select id, row_number() over (order by id) as ord from made`,
    [
      sqlArray(events.map((event) => event.eventName)),
      sqlArray(events.map((event) => event.firstKey)),
      sqlArray(events.map((event) => event.secondKey)),
      sqlArray(events.map((event) => event.homeKey)),
      sqlArray(events.map((event) => event.startsAt)),
    ],
  );
  return rows.sort((a, b) => Number(a.ord) - Number(b.ord)).map((row) => Number(row.id));
}

/**
 * Deletes the sporting events no listing points at (their platforms' prices were pruned, or an alias moved
 * them); returns how many. Only those over an hour old: the matcher creates a sporting event a moment
 * before the step's write adds the listing that points at it.
 */
export function deleteSportingEventsWithoutListings(orm: Orm): Promise<number> {
  return boundRowCount(
    orm,
    `delete from sporting_events s where s.created_at < now() - interval '1 hour'
     and not exists (select 1 from event_listings l where l.sporting_event_id = s.id)`,
  );
}
