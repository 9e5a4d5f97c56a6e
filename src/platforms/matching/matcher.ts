/**
 * Which platforms' listings are one sporting event: the same two participants (in either order) starting
 * within a tolerance of each other. Pure: the caller reads the known events and the aliases, and stores
 * what this returns.
 */

/** One platform's sporting event. `first` and `second` are participant keys, aliases already applied; their order does not matter. */
export interface Listing {
  id: string;
  first: string;
  second: string;
  /** Epoch milliseconds; null when the platform gives no start time (never matched then). */
  startsAt: number | null;
}

/** A sporting event already known (stored), with its participant keys. */
export interface KnownEvent {
  id: number;
  first: string;
  second: string;
  startsAt: number;
}

/** Where a listing goes: a known event, or a group of this call's listings (numbered from 0) that no known event takes. */
export type ListingMatch = { known: number } | { fresh: number };

export const MATCH_TOLERANCE_MS = 15 * 60_000;

interface Candidate {
  startsAt: number;
  /** The known event's id, or the fresh group's number: the smaller wins a tie. */
  id: number;
}

/**
 * Each listing, in order, goes to the known event with the same pair of participants whose start is
 * nearest its own and within `toleranceMs` (a tie: the smaller id); else to the nearest fresh group by the
 * same rule, whose start is its first listing's; else it opens a fresh group. A listing without a start
 * or with an empty participant opens a group of its own that nothing joins. Listing ids are unique.
 * O(n log n): candidates are indexed by pair and kept sorted by start.
 */
export function matchListings(listings: readonly Listing[], known: readonly KnownEvent[], toleranceMs = MATCH_TOLERANCE_MS): Map<string, ListingMatch> {
  const knownByPair = new Map<string, Candidate[]>();
  for (const event of known) {
    if (!Number.isFinite(event.startsAt)) continue;
    const key = pairKey(event.first, event.second);
    if (key === undefined) continue;
    let list = knownByPair.get(key);
    if (!list) knownByPair.set(key, (list = []));
    list.push({ startsAt: event.startsAt, id: event.id });
  }
  for (const list of knownByPair.values()) list.sort((a, b) => a.startsAt - b.startsAt);

  const freshByPair = new Map<string, Candidate[]>();
  const matches = new Map<string, ListingMatch>();
  let groups = 0;
  for (const listing of listings) {
    const key = pairKey(listing.first, listing.second);
    const startsAt = listing.startsAt;
    if (key === undefined || startsAt === null || !Number.isFinite(startsAt)) {
      matches.set(listing.id, { fresh: groups++ });
      continue;
    }
    const knownEvent = nearest(knownByPair.get(key), startsAt, toleranceMs);
    if (knownEvent !== undefined) {
      matches.set(listing.id, { known: knownEvent });
      continue;
    }
    let fresh = freshByPair.get(key);
    const group = nearest(fresh, startsAt, toleranceMs);
    if (group !== undefined) {
      matches.set(listing.id, { fresh: group });
      continue;
    }
    if (!fresh) freshByPair.set(key, (fresh = []));
    fresh.splice(firstAtOrAfter(fresh, startsAt), 0, { startsAt, id: groups });
    matches.set(listing.id, { fresh: groups++ });
  }
  return matches;
}

/** The unordered pair as one key; undefined when a participant is empty. */
function pairKey(first: string, second: string): string | undefined {
  if (first === '' || second === '') return undefined;
  const [low, high] = first < second ? [first, second] : [second, first];
  return `${low.length}:${low}${high}`;
}

/** The id of the candidate nearest `startsAt` within `tolerance` (a tie: the smaller id), in a list sorted by start. */
function nearest(sorted: Candidate[] | undefined, startsAt: number, tolerance: number): number | undefined {
  if (!sorted) return undefined;
  let best: Candidate | undefined;
  let bestDistance = Infinity;
  for (let index = firstAtOrAfter(sorted, startsAt - tolerance); index < sorted.length; index += 1) {
    const candidate = sorted[index]!;
    if (candidate.startsAt > startsAt + tolerance) break;
    const distance = Math.abs(candidate.startsAt - startsAt);
    if (distance < bestDistance || (distance === bestDistance && candidate.id < best!.id)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best?.id;
}

/** The index of the first candidate starting at or after `startsAt` (binary search). */
function firstAtOrAfter(sorted: Candidate[], startsAt: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]!.startsAt < startsAt) low = middle + 1;
    else high = middle;
  }
  return low;
}
