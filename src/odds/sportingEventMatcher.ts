import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { LOCK_NAMES, type SqlExecutor } from '../db/sqlExecutor.js';
import { moveListings, selectListings, selectListingsWithParticipants, type NewListing } from '../db/tables/eventListings.js';
import { uniqueSelections, type MatchedBatch, type NewOdds } from '../db/tables/odds.js';
import { aliasKeys, deleteAlias, upsertAlias } from '../db/tables/participantAliases.js';
import { insertSportingEvents, selectMatchCandidates, type NewSportingEvent } from '../db/tables/sportingEvents.js';
import { inLockedTransaction } from '../db/transaction.js';
import type { ScrapedSelection } from '../platforms/adapter.js';
import { matchListings, MATCH_TOLERANCE_MS, type KnownEvent, type Listing } from '../platforms/matching/matcher.js';
import { eventParticipants, participantKey, type EventSides } from '../platforms/matching/participants.js';
import { canonicalSelection } from '../platforms/matching/selections.js';

/**
 * One sporting event across platforms: each batch a platform scraped is matched to oddswatch's own sporting
 * events before it is written (same participants, aliases applied, starting within the tolerance), and its
 * markets and selections get their canonical names, so GET /api/odds compares bookmakers on both.
 *
 * Matching runs in a short transaction under the advisory lock `oddswatch-matching`: two steps (of this or
 * another replica) that meet the same new sporting event at once would otherwise each create it. The lock
 * is held for one read of candidates and one insert (a few ms per batch of up to ODDS_FLUSH_ROWS prices).
 * A listing already matched keeps its sporting event while its participants and start time are unchanged,
 * so ids are stable across scrapes. Nothing is held in memory between batches.
 * A sporting event's home is its first listing's; a listing with home and away the other way round is
 * stored `swapped`, its own selections as it named them, and GET /api/odds reads its `home`/`away`
 * selections swapped, so prices of one team are compared with that team's.
 */

interface EventOfBatch {
  eventKey: string;
  eventName: string;
  sides: EventSides | undefined;
  home: string | null;
  away: string | null;
  startsAt: string | null;
  /** Participant keys of home and away, before aliases. */
  homeKey: string | null;
  awayKey: string | null;
}

/** The events of a batch, once each (the first selection of an event names it). */
function eventsOf(batch: readonly ScrapedSelection[]): Map<string, EventOfBatch> {
  const events = new Map<string, EventOfBatch>();
  for (const selection of batch) {
    if (events.has(selection.eventKey)) continue;
    const sides = eventParticipants(selection);
    const homeKey = sides ? participantKey(sides.home) : '';
    const awayKey = sides ? participantKey(sides.away) : '';
    const startsAt = selection.startsAt && Number.isFinite(Date.parse(selection.startsAt)) ? new Date(selection.startsAt).toISOString() : null;
    events.set(selection.eventKey, {
      eventKey: selection.eventKey,
      eventName: selection.eventName,
      sides,
      home: sides?.home ?? null,
      away: sides?.away ?? null,
      startsAt,
      homeKey: homeKey || null,
      awayKey: awayKey || null,
    });
  }
  return events;
}

/** Prices with canonical market and selection names, once per (event, market, selection, bookmaker). */
export function canonicalOdds(batch: readonly ScrapedSelection[], events: ReadonlyMap<string, { sides: EventSides | undefined }> = eventsOf(batch)): NewOdds[] {
  return uniqueSelections(
    batch.map((selection) => {
      const canonical = canonicalSelection(selection.market, selection.selection, events.get(selection.eventKey)?.sides);
      return {
        eventKey: selection.eventKey,
        eventName: selection.eventName,
        market: canonical.market,
        selection: canonical.selection,
        bookmaker: selection.bookmaker,
        price: selection.price,
        priceText: selection.priceText,
      };
    }),
  );
}

const resolve = (aliases: ReadonlyMap<string, string>, key: string | null) => (key === null ? '' : (aliases.get(key) ?? key));
const sortedPair = (a: string, b: string): [string, string] => (a <= b ? [a, b] : [b, a]);

/** Known sporting events that could match these listings (same pairs, starting within the tolerance of them), with their home keys. */
async function candidatesFor(sql: SqlExecutor, listings: readonly Listing[], toleranceMs: number): Promise<{ known: KnownEvent[]; homeKeys: Map<number, string | null> }> {
  const timed = listings.filter((listing): listing is Listing & { startsAt: number } => listing.startsAt !== null && listing.first !== '' && listing.second !== '');
  if (timed.length === 0) return { known: [], homeKeys: new Map() };
  const pairs = [...new Map(timed.map((listing) => { const pair = sortedPair(listing.first, listing.second); return [pair.join('\u0000'), pair] as const; })).values()];
  const starts = timed.map((listing) => listing.startsAt);
  const rows = await selectMatchCandidates(sql, pairs, new Date(Math.min(...starts) - toleranceMs), new Date(Math.max(...starts) + toleranceMs));
  return {
    known: rows.map((row) => ({ id: Number(row.id), first: row.first_key, second: row.second_key, startsAt: new Date(row.starts_at).getTime() })),
    homeKeys: new Map(rows.map((row) => [Number(row.id), row.home_key])),
  };
}

/** Where a listing went: its sporting event, and whether it has home and away the other way round. */
interface Assignment {
  sportingEventId: number;
  swapped: boolean;
}

/**
 * Assigns each listing a sporting event: a known one (matchListings), or a new one made for its group,
 * whose home is the home of the group's first listing. A listing's `first` is its home key, `second` its
 * away key (aliases applied). Returns listing id -> assignment.
 */
async function assign(sql: SqlExecutor, listings: readonly (Listing & { eventName: string })[], toleranceMs: number): Promise<Map<string, Assignment>> {
  const { known, homeKeys } = await candidatesFor(sql, listings, toleranceMs);
  const matches = matchListings(listings, known, toleranceMs);
  const fresh = new Map<number, NewSportingEvent>();
  for (const listing of listings) {
    const match = matches.get(listing.id);
    if (!match || 'known' in match || fresh.has(match.fresh)) continue;
    const matchable = listing.first !== '' && listing.second !== '' && listing.startsAt !== null;
    const [first, second] = sortedPair(listing.first, listing.second);
    fresh.set(match.fresh, {
      eventName: listing.eventName,
      firstKey: matchable ? first : null,
      secondKey: matchable ? second : null,
      homeKey: matchable ? listing.first : null,
      startsAt: listing.startsAt === null ? null : new Date(listing.startsAt).toISOString(),
    });
  }
  const groups = [...fresh.keys()];
  const ids = await insertSportingEvents(sql, groups.map((group) => fresh.get(group)!));
  const idOfGroup = new Map(groups.map((group, index) => [group, ids[index]!]));
  const assigned = new Map<string, Assignment>();
  for (const listing of listings) {
    const match = matches.get(listing.id)!;
    const homeKey = 'known' in match ? (homeKeys.get(match.known) ?? null) : (fresh.get(match.fresh)?.homeKey ?? null);
    assigned.set(listing.id, {
      sportingEventId: 'known' in match ? match.known : idOfGroup.get(match.fresh)!,
      swapped: homeKey !== null && listing.first !== homeKey && listing.second === homeKey,
    });
  }
  return assigned;
}

export interface SportingEventMatcher {
  /** A platform's batch as it is written: canonical prices, and each listing with its sporting event. */
  match(platform: string, batch: readonly ScrapedSelection[]): Promise<MatchedBatch>;
  /** How many of the batch's sporting events match one stored already (the preview's count); writes nothing. */
  countMatchedExisting(batch: readonly ScrapedSelection[]): Promise<number>;
  /** Sets an alias and re-matches the listings it touches, in one transaction. */
  setAlias(alias: string, canonical: string): Promise<{ aliasKey: string; canonicalKey: string; moved: number }>;
  /** Deletes an alias and re-matches the listings it touched; null when there was none. */
  deleteAlias(alias: string): Promise<{ moved: number } | null>;
}

export function createSportingEventMatcher(orm: Orm, toleranceMs = MATCH_TOLERANCE_MS): SportingEventMatcher {
  const locked = <T>(work: (sql: SqlExecutor) => Promise<T>) => inLockedTransaction(orm, LOCK_NAMES.matching, work);

  /** Re-matches every listing with one of these participant keys, from scratch; returns how many moved. */
  async function rematch(sql: SqlExecutor, keys: readonly string[]): Promise<number> {
    const rows = await selectListingsWithParticipants(sql, keys);
    if (rows.length === 0) return 0;
    const aliases = await aliasKeys(sql);
    const listings = rows.map((row) => ({
      id: `${row.platform}\u0000${row.event_key}`,
      first: resolve(aliases, row.first_key),
      second: resolve(aliases, row.second_key),
      startsAt: new Date(row.starts_at).getTime(),
      eventName: row.event_name,
    }));
    const assigned = await assign(sql, listings, toleranceMs);
    const moves = rows
      .map((row) => ({ platform: row.platform, eventKey: row.event_key, ...assigned.get(`${row.platform}\u0000${row.event_key}`)!, from: Number(row.sporting_event_id), wasSwapped: row.swapped }))
      .filter((move) => move.sportingEventId !== move.from || move.swapped !== move.wasSwapped);
    await moveListings(sql, moves);
    return moves.length;
  }

  return {
    async match(platform, batch) {
      const events = eventsOf(batch);
      const odds = canonicalOdds(batch, events);
      if (events.size === 0) return { odds, listings: [] };
      const assigned = await locked(async (sql) => {
        const aliases = await aliasKeys(sql);
        const stored = new Map((await selectListings(sql, platform, [...events.keys()])).map((row) => [row.event_key, row]));
        const result = new Map<string, Assignment>();
        const pending: (Listing & { eventName: string })[] = [];
        for (const event of events.values()) {
          const before = stored.get(event.eventKey);
          const unchanged =
            before !== undefined &&
            before.first_key === event.homeKey &&
            before.second_key === event.awayKey &&
            (before.starts_at === null ? null : new Date(before.starts_at).toISOString()) === event.startsAt;
          if (unchanged) {
            result.set(event.eventKey, { sportingEventId: Number(before.sporting_event_id), swapped: before.swapped });
            continue;
          }
          pending.push({
            id: event.eventKey,
            first: resolve(aliases, event.homeKey),
            second: resolve(aliases, event.awayKey),
            startsAt: event.startsAt === null ? null : Date.parse(event.startsAt),
            eventName: event.eventName,
          });
        }
        for (const [id, assignment] of await assign(sql, pending, toleranceMs)) result.set(id, assignment);
        return result;
      });
      const listings: NewListing[] = [...events.values()].map((event) => ({
        eventKey: event.eventKey,
        eventName: event.eventName,
        home: event.home,
        away: event.away,
        startsAt: event.startsAt,
        firstKey: event.homeKey,
        secondKey: event.awayKey,
        ...assigned.get(event.eventKey)!,
      }));
      return { odds, listings };
    },

    async countMatchedExisting(batch) {
      const events = eventsOf(batch);
      if (events.size === 0) return 0;
      // Two reads in autocommit: an alias changed between them only makes this count a moment old.
      const sql: SqlExecutor = (text, params) => boundRows(orm, text, params);
      const aliases = await aliasKeys(sql);
      const listings = [...events.values()].map((event) => ({
        id: event.eventKey,
        first: resolve(aliases, event.homeKey),
        second: resolve(aliases, event.awayKey),
        startsAt: event.startsAt === null ? null : Date.parse(event.startsAt),
      }));
      const matches = matchListings(listings, (await candidatesFor(sql, listings, toleranceMs)).known, toleranceMs);
      return [...matches.values()].filter((match) => 'known' in match).length;
    },

    async setAlias(alias, canonical) {
      const aliasKey = participantKey(alias);
      const canonicalKey = participantKey(canonical);
      return locked(async (sql) => {
        const previous = await upsertAlias(sql, { aliasKey, alias, canonical, canonicalKey });
        const moved = await rematch(sql, [aliasKey, canonicalKey, ...(previous ? [previous] : [])]);
        return { aliasKey, canonicalKey, moved };
      });
    },

    async deleteAlias(alias) {
      const aliasKey = participantKey(alias);
      return locked(async (sql) => {
        const canonicalKey = await deleteAlias(sql, aliasKey);
        if (canonicalKey === null) return null;
        return { moved: await rematch(sql, [aliasKey, canonicalKey]) };
      });
    },
  };
}
