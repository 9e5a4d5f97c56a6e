import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MATCH_TOLERANCE_MS, matchListings, type KnownEvent, type Listing, type ListingMatch } from '../../src/platforms/matching/matcher.js';
import { eventParticipants, participantKey } from '../../src/platforms/matching/participants.js';
import { canonicalSelection } from '../../src/platforms/matching/selections.js';

/** Properties of matching over generated spellings, listings and known events. MATCHING_SEED=<n> replays a failure. */
const SEED = process.env.MATCHING_SEED === undefined ? undefined : Number(process.env.MATCHING_SEED);
const check = <T>(property: fc.IProperty<T>, numRuns = 500) => fc.assert(property, { numRuns, seed: SEED });

const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;
const KICK_OFF = Date.UTC(2026, 4, 1, 15);

// ---- spellings ------------------------------------------------------------------------------------

/** A word of a team's name: 4 letters or more, so never an affix (`fc`, `club`...) nor a separator (`v`, `vs`). */
const word = fc.stringMatching(/^[a-z]{4,9}$/).filter((text) => text !== 'club' && text !== 'calcio');
/** A team as its key: 1 to 3 words. */
const team = fc.array(word, { minLength: 1, maxLength: 3 });

const ACCENTED: Readonly<Record<string, readonly string[]>> = {
  a: ['á', 'à', 'â', 'ä', 'å', 'ã'], e: ['é', 'è', 'ê', 'ë'], i: ['í', 'ì', 'î', 'ï'], o: ['ó', 'ò', 'ô', 'ö', 'õ', 'ø'],
  u: ['ú', 'ù', 'û', 'ü'], n: ['ñ'], c: ['ç'], s: ['š', 'ş'], z: ['ž'], y: ['ý'], l: ['ł'],
};

/** One platform's spelling of a word: its case per letter, accents on some letters. */
const spellWord = (text: string) =>
  fc.array(fc.nat(99), { minLength: text.length, maxLength: text.length }).map((dice) =>
    [...text]
      .map((letter, index) => {
        const roll = dice[index]!;
        const accents = ACCENTED[letter];
        const accented = accents && roll % 3 === 0 ? accents[Math.floor(roll / 3) % accents.length]! : letter;
        return Math.floor(roll / 7) % 2 === 0 ? accented.toUpperCase() : accented;
      })
      .join(''),
  );

const GLUE = [' ', '  ', '-', '. ', ', ', ' / ', '/', '_', ' (', ') ', '\u00a0'];
const PREFIXES = ['', '', 'FC ', 'AFC ', 'F.C. ', 'A.F.C. ', 'CF ', 'SC ', 'fc ', '1. FC '];
const SUFFIXES = ['', '', ' FC', ' F.C.', ' AFC', ' CF', ' C.F.', ' SC', ' F.C'];

/** One platform's spelling of a team: case, accents, punctuation between words, a club-form affix. */
const spelling = (words: readonly string[]) =>
  fc
    .tuple(
      fc.tuple(...words.map(spellWord)),
      fc.array(fc.constantFrom(...GLUE), { minLength: words.length - 1, maxLength: words.length - 1 }),
      fc.constantFrom(...PREFIXES),
      fc.constantFrom(...SUFFIXES),
      fc.boolean(),
    )
    .map(([spelled, glue, prefix, suffix, apostrophe]) => {
      const body = spelled.map((text, index) => (index === 0 ? text : `${glue[index - 1]}${text}`)).join('');
      // an apostrophe inside a word (`Newell's`) joins: the key is the same
      const marked = apostrophe ? body.replace(/^(\S{2})/u, "$1'") : body;
      return `${prefix}${marked}${suffix}`;
    });

/** How a platform names the two sides: one event name with a separator, or home and away apart. */
const SEPARATORS = [' v ', ' vs ', ' vs. ', ' V ', ' VS ', ' - ', ' – ', ' @ '] as const;
const naming = (home: string, away: string) =>
  fc.oneof(
    fc.constantFrom(...SEPARATORS).map((separator) => ({ eventName: separator === ' @ ' ? `${away} @ ${home}` : `${home}${separator}${away}` })),
    fc.constant({ eventName: 'Match', home: ` ${home} `, away }),
  );

/** One platform's listing of the sporting event home v away: its own spelling, perhaps home and away swapped. */
const platformListing = (id: string, home: readonly string[], away: readonly string[], startsAt: number) =>
  fc
    .tuple(spelling(home), spelling(away), fc.boolean())
    .chain(([homeName, awayName, swapped]) => (swapped ? naming(awayName, homeName) : naming(homeName, awayName)))
    .map((named): Listing => {
      const sides = eventParticipants(named);
      return { id, first: sides ? participantKey(sides.home) : '', second: sides ? participantKey(sides.away) : '', startsAt };
    });

const sameGroup = (matches: Map<string, ListingMatch>, a: string, b: string) => JSON.stringify(matches.get(a)) === JSON.stringify(matches.get(b));

describe('participant keys', () => {
  it('ignore case, accents, punctuation between words, apostrophes and club-form affixes', () => {
    check(fc.property(team.chain((words) => fc.tuple(fc.constant(words), spelling(words))), ([words, name]) => void expect(participantKey(name), name).toBe(words.join(' '))));
  });

  it('are keys of themselves, whatever the text', () => {
    check(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), (name) => {
        const key = participantKey(name);
        expect(participantKey(key)).toBe(key);
        expect(key).toMatch(/^(?:[\p{L}\p{N}]+(?: [\p{L}\p{N}]+)*)?$/u);
      }),
      2_000,
    );
  });
});

describe('one sporting event on two platforms', () => {
  const twoTeams = fc.tuple(team, team).filter(([home, away]) => home.join(' ') !== away.join(' '));

  it('matches whatever each platform’s spelling, separator and order of home and away, up to 5 minutes apart', () => {
    check(
      fc.property(
        twoTeams.chain(([home, away]) =>
          fc.tuple(platformListing('a', home, away, KICK_OFF), fc.integer({ min: -5 * MINUTE, max: 5 * MINUTE }).chain((shift) => platformListing('b', home, away, KICK_OFF + shift))),
        ),
        ([a, b]) => {
          expect(sameGroup(matchListings([a, b], []), 'a', 'b'), JSON.stringify([a, b])).toBe(true);
          expect(matchListings([a, b], [{ id: 1, first: a.second, second: a.first, startsAt: KICK_OFF + 3 * MINUTE }])).toEqual(new Map([['a', { known: 1 }], ['b', { known: 1 }]]));
        },
      ),
    );
  });

  it('never matches a week apart', () => {
    check(
      fc.property(
        twoTeams.chain(([home, away]) => fc.tuple(platformListing('a', home, away, KICK_OFF), platformListing('b', home, away, KICK_OFF + WEEK))),
        ([a, b]) => {
          expect(sameGroup(matchListings([a, b], []), 'a', 'b')).toBe(false);
          expect(matchListings([a, b], [{ id: 1, first: a.first, second: a.second, startsAt: KICK_OFF }]).get('b')).toEqual({ fresh: 0 });
        },
      ),
    );
  });

  it('never matches unrelated teams, even at the same start', () => {
    check(
      fc.property(
        fc
          .tuple(twoTeams, twoTeams)
          .filter(([[h1, a1], [h2, a2]]) => [h1, a1].map((words) => words.join(' ')).sort().join('|') !== [h2, a2].map((words) => words.join(' ')).sort().join('|'))
          .chain(([[h1, a1], [h2, a2]]) => fc.tuple(platformListing('a', h1, a1, KICK_OFF), platformListing('b', h2, a2, KICK_OFF))),
        ([a, b]) => void expect(sameGroup(matchListings([a, b], []), 'a', 'b')).toBe(false),
      ),
    );
  });
});

// ---- the matcher against the rule as written ---------------------------------------------------------

/** Keys from a small pool (and the empty key), starts on a grid around the tolerance: pairs, near starts and ties are common. */
const key = fc.constantFrom('', 'arsenal', 'benfica', 'celtic', 'arsenal benfica');
const start = fc.oneof(fc.integer({ min: -40, max: 40 }).map((minutes) => KICK_OFF + minutes * MINUTE), fc.constant(KICK_OFF + WEEK));
const listings = fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), first: key, second: key, startsAt: fc.option(start, { nil: null }) }), {
  maxLength: 30,
  selector: (listing) => listing.id,
});
const knownEvents = fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 50 }), first: key, second: key, startsAt: start }), { maxLength: 8, selector: (event) => event.id });

/** matchListings as its documentation says, by brute force. */
function byTheRule(all: readonly Listing[], known: readonly KnownEvent[], tolerance: number): Map<string, ListingMatch> {
  const pair = (first: string, second: string) => (first && second ? JSON.stringify([first, second].sort()) : undefined);
  const nearest = <T extends { startsAt: number }>(candidates: T[], startsAt: number, id: (candidate: T) => number) =>
    candidates.filter((candidate) => Math.abs(candidate.startsAt - startsAt) <= tolerance).sort((x, y) => Math.abs(x.startsAt - startsAt) - Math.abs(y.startsAt - startsAt) || id(x) - id(y))[0];
  const groups: { pair: string; startsAt: number; n: number }[] = [];
  const matches = new Map<string, ListingMatch>();
  let next = 0;
  for (const listing of all) {
    const own = pair(listing.first, listing.second);
    if (own === undefined || listing.startsAt === null) {
      matches.set(listing.id, { fresh: next++ });
      continue;
    }
    const event = nearest(known.filter((candidate) => pair(candidate.first, candidate.second) === own), listing.startsAt, (candidate) => candidate.id);
    const group = event ? undefined : nearest(groups.filter((candidate) => candidate.pair === own), listing.startsAt, (candidate) => candidate.n);
    if (event) matches.set(listing.id, { known: event.id });
    else if (group) matches.set(listing.id, { fresh: group.n });
    else {
      groups.push({ pair: own, startsAt: listing.startsAt, n: next });
      matches.set(listing.id, { fresh: next++ });
    }
  }
  return matches;
}

/** Each listing's place with fresh groups renumbered by the first listing of `order` in them: comparable across orders of one call. */
function grouping(matches: Map<string, ListingMatch>, order: readonly string[]): string[] {
  const renumbered = new Map<number, number>();
  return order.map((id) => {
    const match = matches.get(id)!;
    if ('known' in match) return `known ${match.known}`;
    if (!renumbered.has(match.fresh)) renumbered.set(match.fresh, renumbered.size);
    return `fresh ${renumbered.get(match.fresh)}`;
  });
}

describe('matchListings', () => {
  it('does what its rule says: nearest known event, else nearest fresh group, ties to the smaller id', () => {
    check(fc.property(listings, knownEvents, fc.constantFrom(MATCH_TOLERANCE_MS, 5 * MINUTE, 0), (all, known, tolerance) => {
      expect(matchListings(all, known, tolerance)).toEqual(byTheRule(all, known, tolerance));
    }), 2_000);
  });

  it('groups two listings alike in either order, either side first', () => {
    check(
      fc.property(listings.filter((all) => all.length >= 2), knownEvents, (all, known) => {
        const [a, b] = [all[0]!, all[1]!];
        const swap = (listing: Listing): Listing => ({ ...listing, first: listing.second, second: listing.first });
        const ids = [a.id, b.id];
        const forward = grouping(matchListings([a, b], known), ids);
        expect(grouping(matchListings([b, a], known), ids)).toEqual(forward);
        expect(grouping(matchListings([swap(b), swap(a)], known), ids)).toEqual(forward);
        expect(grouping(matchListings([a, b], known.map((event) => ({ ...event, first: event.second, second: event.first }))), ids)).toEqual(forward);
      }),
      2_000,
    );
  });

  it('never joins a listing without a start or with an empty participant to anything', () => {
    check(
      fc.property(listings, knownEvents, (all, known) => {
        const matches = matchListings(all, known);
        const fresh = [...matches.values()].flatMap((match) => ('fresh' in match ? [match.fresh] : []));
        for (const listing of all.filter((candidate) => candidate.startsAt === null || !candidate.first || !candidate.second)) {
          const match = matches.get(listing.id)!;
          expect('fresh' in match && fresh.filter((group) => group === match.fresh).length === 1).toBe(true);
        }
      }),
    );
  });
});

// ---- canonical selections -------------------------------------------------------------------------

describe('canonicalSelection', () => {
  const teams = { home: 'Arsenal FC', away: 'Benfica' };
  const market = fc.oneof(
    fc.constantFrom('match_result', 'h2h', '1x2', 'Full Time Result', 'totals', 'over/under', 'total_goals_2.5', 'Total Goals 3.0', 'spreads', 'asian_handicap', 'Handicap -1', 'Correct Score'),
    fc.string({ maxLength: 20 }),
  );
  const selection = fc.oneof(
    fc.constantFrom('1', 'X', '2', 'Home', 'Draw', 'AWAY', 'Arsenal', 'benfica', 'Over 2.5', 'u 2,50', 'over', 'Arsenal -1.5', 'Benfica +0.5', '2 (+0)', 'Chelsea', '2 - 1'),
    fc.string({ maxLength: 20 }),
  );
  const recase = (text: string, dice: number[]) => [...text].map((letter, index) => ((dice[index % dice.length] ?? 0) % 2 ? letter.toUpperCase() : letter.toLowerCase())).join('');

  it('is its own canonical form', () => {
    check(
      fc.property(market, selection, fc.option(fc.constant(teams), { nil: undefined }), (rawMarket, rawSelection, participants) => {
        const once = canonicalSelection(rawMarket, rawSelection, participants);
        expect(canonicalSelection(once.market, once.selection, participants)).toEqual(once);
      }),
      2_000,
    );
  });

  it('ignores case and the spaces around and between words', () => {
    check(
      fc.property(market, selection, fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (rawMarket, rawSelection, dice) => {
        // the dotted capital I and the like change length when cased: not a platform's spelling
        fc.pre(recase(rawMarket, dice).length === rawMarket.length && recase(rawSelection, dice).length === rawSelection.length);
        const plain = canonicalSelection(rawMarket, rawSelection, teams);
        const respelled = canonicalSelection(` ${recase(rawMarket, dice).replace(/ /g, '  ')} `, `\t${recase(rawSelection, dice).replace(/ /g, '   ')}  `, teams);
        expect(respelled).toEqual(plain);
      }),
      2_000,
    );
  });
});
