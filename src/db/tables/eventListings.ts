import { boundRowCount, boundRows } from '../boundStatement.js';
import type { Orm } from '../database.js';
import type { SqlExecutor } from '../sqlExecutor.js';
import { sqlArray } from '../sqlArray.js';

/**
 * Who writes `event_listings` (a platform's listing of a sporting event): the odds upsert carries
 * `listingsUpsert` (tables/odds.ts `oddsUpsertCte`), so a sporting event with odds always has its listing;
 * `rematchListings` moves listings to other sporting events when an alias changes (odds/sportingEventMatcher.ts);
 * `deleteListingsWithoutOdds` prunes them with the odds (odds/pruneOdds.ts).
 * Read by the matcher (`selectListings`), the odds page (its name search and join) and the matched-share gauge.
 */

/** A listing to write, matched already. `firstKey`/`secondKey`: participant keys of home and away, before aliases. */
export interface NewListing {
  eventKey: string;
  eventName: string;
  home: string | null;
  away: string | null;
  /** ISO 8601, or null when the platform gives none. */
  startsAt: string | null;
  firstKey: string | null;
  secondKey: string | null;
  sportingEventId: number;
  /** Home and away the other way round from the sporting event's. */
  swapped: boolean;
}

/** The listings upsert as a CTE (`listings_upsert`) of the odds statement; an unchanged listing is not rewritten. */
export function listingsUpsert(platform: string, listings: readonly NewListing[]): { sql: string; params: unknown[] } {
  return {
    sql: `listings_upsert as (
     insert into event_listings (platform, event_key, event_name, home, away, starts_at, first_key, second_key, sporting_event_id, swapped)
     select ?, event_key, event_name, home, away, starts_at, first_key, second_key, sporting_event_id, swapped
     from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::text[], ?::text[], ?::bigint[], ?::boolean[])
       as u(event_key, event_name, home, away, starts_at, first_key, second_key, sporting_event_id, swapped)
     on conflict (platform, event_key) do update set event_name = excluded.event_name, home = excluded.home, away = excluded.away,
       starts_at = excluded.starts_at, first_key = excluded.first_key, second_key = excluded.second_key, sporting_event_id = excluded.sporting_event_id,
       swapped = excluded.swapped
     where (event_listings.event_name, event_listings.home, event_listings.away, event_listings.starts_at, event_listings.first_key, event_listings.second_key, event_listings.sporting_event_id, event_listings.swapped)
       is distinct from (excluded.event_name, excluded.home, excluded.away, excluded.starts_at, excluded.first_key, excluded.second_key, excluded.sporting_event_id, excluded.swapped)
   )`,
    params: [
      platform,
      sqlArray(listings.map((listing) => listing.eventKey)),
      sqlArray(listings.map((listing) => listing.eventName)),
      sqlArray(listings.map((listing) => listing.home)),
      sqlArray(listings.map((listing) => listing.away)),
      sqlArray(listings.map((listing) => listing.startsAt)),
      sqlArray(listings.map((listing) => listing.firstKey)),
      sqlArray(listings.map((listing) => listing.secondKey)),
      sqlArray(listings.map((listing) => listing.sportingEventId)),
      sqlArray(listings.map((listing) => String(listing.swapped))),
    ],
  };
}

export interface StoredListing extends Record<string, unknown> {
  event_key: string;
  first_key: string | null;
  second_key: string | null;
  starts_at: Date | null;
  sporting_event_id: string;
  swapped: boolean;
}

/** A platform's stored listings of these event keys. */
export function selectListings(sql: SqlExecutor, platform: string, eventKeys: readonly string[]): Promise<StoredListing[]> {
  return sql<StoredListing>(
    `select event_key, first_key, second_key, starts_at, sporting_event_id, swapped from event_listings where platform = ? and event_key = any(?::text[])`,
    [platform, sqlArray(eventKeys)],
  );
}

export interface ListingToRematch extends Record<string, unknown> {
  platform: string;
  event_key: string;
  event_name: string;
  first_key: string;
  second_key: string;
  starts_at: Date;
  sporting_event_id: string;
  swapped: boolean;
}

/** Listings with one of these participant keys (an alias changed), with a start time: the ones a rematch may move. */
export function selectListingsWithParticipants(sql: SqlExecutor, keys: readonly string[]): Promise<ListingToRematch[]> {
  return sql<ListingToRematch>(
    `select platform, event_key, event_name, first_key, second_key, starts_at, sporting_event_id, swapped from event_listings
     where starts_at is not null and (first_key = any(?::text[]) or second_key = any(?::text[]))
     order by sporting_event_id, platform, event_key`,
    [sqlArray(keys), sqlArray(keys)],
  );
}

/** Points listings at other sporting events. */
export async function moveListings(sql: SqlExecutor, moves: readonly { platform: string; eventKey: string; sportingEventId: number; swapped: boolean }[]): Promise<void> {
  if (moves.length === 0) return;
  await sql(
    `update event_listings l set sporting_event_id = m.id, swapped = m.swapped
     from unnest(?::text[], ?::text[], ?::bigint[], ?::boolean[]) as m(platform, event_key, id, swapped)
     where l.platform = m.platform and l.event_key = m.event_key`,
    [
      sqlArray(moves.map((move) => move.platform)),
      sqlArray(moves.map((move) => move.eventKey)),
      sqlArray(moves.map((move) => move.sportingEventId)),
      sqlArray(moves.map((move) => String(move.swapped))),
    ],
  );
}

/** The share (0..1) of a platform's listings whose sporting event another platform lists too; null without listings. */
export async function matchedShare(orm: Orm, platform: string): Promise<number | null> {
  const rows = await boundRows<{ share: number | null }>(
    orm,
    `select (count(*) filter (where exists (
        select 1 from event_listings o where o.sporting_event_id = l.sporting_event_id and o.platform <> l.platform
      )))::float8 / nullif(count(*), 0) as share
     from event_listings l where l.platform = ?`,
    [platform],
  );
  return rows[0]?.share ?? null;
}

/** Deletes the listings a platform no longer has a price for; returns how many. */
export function deleteListingsWithoutOdds(orm: Orm): Promise<number> {
  return boundRowCount(orm, `delete from event_listings l where not exists (select 1 from odds o where o.platform = l.platform and o.event_key = l.event_key)`);
}
