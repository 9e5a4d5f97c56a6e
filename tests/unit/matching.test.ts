import { describe, expect, it } from 'vitest';
import { matchListings, type KnownEvent, type Listing } from '../../src/platforms/matching/matcher.js';
import { eventParticipants, participantKey, splitEventName } from '../../src/platforms/matching/participants.js';
import { canonicalSelection } from '../../src/platforms/matching/selections.js';

describe('participantKey', () => {
  it.each([
    ['Arsenal FC', 'arsenal'],
    ['Atlético Madrid', 'atletico madrid'],
    ['A.F.C. Bournemouth', 'bournemouth'],
    ['AFC Bournemouth', 'bournemouth'],
    ['Manchester United F.C.', 'manchester united'],
    ['1. FC Köln', 'koln'],
    ['FC Bayern München', 'bayern munchen'],
    ['AC Milan', 'milan'],
    ['SSC Napoli', 'napoli'],
    ['Bodø/Glimt', 'bodo glimt'],
    ['Brighton & Hove Albion', 'brighton and hove albion'],
    ['Paris Saint-Germain', 'paris saint germain'],
    ['St. Pauli', 'st pauli'],
    ["Newell's Old Boys", 'newells old boys'],
    ['Newell’s Old Boys', 'newells old boys'],
    ['  Real   Madrid  ', 'real madrid'],
    ['ＡＢＣ', 'abc'],
    ['Wolverhampton (Wolves)', 'wolverhampton wolves'],
  ])('%s is %s', (name, key) => {
    expect(participantKey(name)).toBe(key);
  });

  it('keeps what tells teams apart: the middle of a name, women and reserve teams', () => {
    expect(participantKey('Real Sociedad')).toBe('real sociedad');
    expect(participantKey('Arsenal Women')).toBe('arsenal women');
    expect(participantKey('Barcelona B')).toBe('barcelona b');
    expect(participantKey('Inter Club Escaldes')).toBe('inter club escaldes');
  });

  it('never drops an affix that would leave the name empty', () => {
    expect(participantKey('FC')).toBe('fc');
    expect(participantKey('AC FC')).toBe('fc');
    expect(participantKey('Club')).toBe('club');
  });

  it('is empty for a name without a letter or a digit', () => {
    expect(participantKey('')).toBe('');
    expect(participantKey(' .-/ ')).toBe('');
  });
});

describe('splitEventName', () => {
  it.each([
    ['Arsenal v Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal vs Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal vs. Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal VS Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal - Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal – Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal — Benfica', { home: 'Arsenal', away: 'Benfica' }],
    ['Lakers @ Celtics', { home: 'Celtics', away: 'Lakers' }],
    ['Paris Saint-Germain v Lyon', { home: 'Paris Saint-Germain', away: 'Lyon' }],
    ['Paris Saint-Germain - Olympique Lyonnais', { home: 'Paris Saint-Germain', away: 'Olympique Lyonnais' }],
    ['Al-Hilal - Al-Nassr', { home: 'Al-Hilal', away: 'Al-Nassr' }],
    ['  Arsenal  v  Benfica  ', { home: 'Arsenal', away: 'Benfica' }],
    ['Arsenal\u00a0v\u00a0Benfica', { home: 'Arsenal', away: 'Benfica' }],
    // v is read before a spaced hyphen: the hyphen belongs to a name here
    ['Hapoel Be’er Sheva - B v Maccabi', { home: 'Hapoel Be’er Sheva - B', away: 'Maccabi' }],
  ])('%s', (name, sides) => {
    expect(splitEventName(name)).toEqual(sides);
  });

  it.each([
    ['Arsenal', 'no separator'],
    ['Paris Saint-Germain', 'a hyphen inside a name'],
    ['Arsenal-Benfica', 'an unspaced hyphen'],
    ['ArsenalvBenfica', 'an unspaced v'],
    ['Arsenal v ', 'an empty away side'],
    [' - Benfica', 'an empty home side'],
    ['A - B - C', 'two separators of one kind'],
    ['A v B vs C', 'two separators of one kind'],
    ['', 'nothing'],
  ])('%s: none (%s)', (name) => {
    expect(splitEventName(name)).toBeUndefined();
  });
});

describe('eventParticipants', () => {
  it('takes the home and away a platform gives', () => {
    expect(eventParticipants({ eventName: 'Match 12', home: ' Arsenal ', away: 'Benfica' })).toEqual({ home: 'Arsenal', away: 'Benfica' });
  });

  it('splits the event name when either side is missing or blank', () => {
    expect(eventParticipants({ eventName: 'Lakers @ Celtics' })).toEqual({ home: 'Celtics', away: 'Lakers' });
    expect(eventParticipants({ eventName: 'Arsenal v Benfica', home: 'Arsenal' })).toEqual({ home: 'Arsenal', away: 'Benfica' });
    expect(eventParticipants({ eventName: 'Arsenal v Benfica', home: ' ', away: 'Benfica' })).toEqual({ home: 'Arsenal', away: 'Benfica' });
    expect(eventParticipants({ eventName: 'Premier League outright' })).toBeUndefined();
  });
});

describe('canonicalSelection', () => {
  const teams = { home: 'Arsenal FC', away: 'S.L. Benfica' };

  it.each([
    ['match_result', 'home'],
    ['h2h', '1'],
    ['1X2', 'Home'],
    ['Match Result', 'Arsenal'],
    ['Full Time Result', 'ARSENAL F.C.'],
    ['fulltime_result', 'arsenal'],
    ['win-draw-win', '1'],
    ['Moneyline (3-way)', 'Arsenal'],
    ['moneyline_3way', 'home'],
    ['3 Way', '1'],
    ['match_odds', 'Arsenal FC'],
  ])('%s / %s is match_result / home', (market, selection) => {
    expect(canonicalSelection(market, selection, teams)).toEqual({ market: 'match_result', selection: 'home' });
  });

  it('reads draw and away in every spelling', () => {
    for (const draw of ['X', 'x', 'Draw', 'tie', ' DRAW ']) expect(canonicalSelection('1x2', draw, teams)).toEqual({ market: 'match_result', selection: 'draw' });
    for (const away of ['2', 'away', 'Benfica', 'SL Benfica']) expect(canonicalSelection('h2h', away, teams)).toEqual({ market: 'match_result', selection: 'away' });
  });

  it('keeps a team it cannot place under its own name', () => {
    expect(canonicalSelection('h2h', 'Chelsea', teams)).toEqual({ market: 'h2h', selection: 'chelsea' });
    expect(canonicalSelection('h2h', 'Arsenal')).toEqual({ market: 'h2h', selection: 'arsenal' });
    // home and away alike: a name cannot tell them apart
    expect(canonicalSelection('h2h', 'Arsenal', { home: 'Arsenal', away: 'Arsenal FC' })).toEqual({ market: 'h2h', selection: 'arsenal' });
  });

  it.each([
    ['totals', 'Over 2.5', 'over 2.5'],
    ['total', 'O 2.5', 'over 2.5'],
    ['over_under', 'Under 2.50', 'under 2.5'],
    ['Over/Under', 'u 2,5', 'under 2.5'],
    ['total_goals_2.5', 'over', 'over 2.5'],
    ['Total Goals 3.0', 'Under', 'under 3'],
    ['total_goals', 'Over (2.5)', 'over 2.5'],
    ['totals', 'Over 2.5 Goals', 'over 2.5'],
    ['totals', 'o2.5', 'over 2.5'],
    ['totals', 'Over 225.5', 'over 225.5'],
    ['totals', 'over', 'over'],
    ['Totals', 'UNDER', 'under'],
    // the selection's own line wins over the market name's
    ['total_goals_2.5', 'over 3.5', 'over 3.5'],
  ])('%s / %s is totals / %s', (market, selection, canonical) => {
    expect(canonicalSelection(market, selection)).toEqual({ market: 'totals', selection: canonical });
  });

  it.each([
    ['spreads', 'home -1.5', 'home -1.5'],
    ['handicap', 'Arsenal -1.5', 'home -1.5'],
    ['asian_handicap', 'Benfica +1.5', 'away +1.5'],
    ['Asian Handicap', 'Benfica 1.5', 'away +1.5'],
    ['spreads', 'Arsenal (+0)', 'home 0'],
    ['spreads', '2 -0', 'away 0'],
    ['spreads', '1 -0.25', 'home -0.25'],
    ['spreads', 'away +1.50', 'away +1.5'],
    ['point_spread', 'home', 'home'],
  ])('%s / %s is spreads / %s', (market, selection, canonical) => {
    expect(canonicalSelection(market, selection, teams)).toEqual({ market: 'spreads', selection: canonical });
  });

  it('reads a team ending in a number as the team, not as a line', () => {
    const schalke = { home: 'Schalke 04', away: 'Hannover 96' };
    expect(canonicalSelection('spreads', 'Schalke 04', schalke)).toEqual({ market: 'spreads', selection: 'home' });
    expect(canonicalSelection('spreads', 'Hannover 96 +1', schalke)).toEqual({ market: 'spreads', selection: 'away +1' });
  });

  it('keeps a handicap whose line it cannot place on a side under its own names', () => {
    expect(canonicalSelection('Handicap -1', 'Arsenal', teams)).toEqual({ market: 'handicap -1', selection: 'arsenal' });
    expect(canonicalSelection('handicap', 'Draw -1', teams)).toEqual({ market: 'handicap', selection: 'draw -1' });
  });

  it('keeps anything else trimmed and lower-cased, whitespace collapsed', () => {
    expect(canonicalSelection('  Correct   Score ', ' 2 - 1 ')).toEqual({ market: 'correct score', selection: '2 - 1' });
    expect(canonicalSelection('Both Teams To Score', 'Yes')).toEqual({ market: 'both teams to score', selection: 'yes' });
    expect(canonicalSelection('totals', 'Exactly 3')).toEqual({ market: 'totals', selection: 'exactly 3' });
    expect(canonicalSelection('Over/Under 2.5 3.5', 'over')).toEqual({ market: 'over/under 2.5 3.5', selection: 'over' });
    expect(canonicalSelection('match_result_2', 'home')).toEqual({ market: 'match_result_2', selection: 'home' });
  });
});

describe('matchListings', () => {
  const minute = 60_000;
  const at = Date.UTC(2026, 4, 1, 15);
  const listing = (id: string, first: string, second: string, offsetMinutes: number | null): Listing => ({
    id,
    first,
    second,
    startsAt: offsetMinutes === null ? null : at + offsetMinutes * minute,
  });

  it('puts a listing on the known event with its pair, in either order', () => {
    const known: KnownEvent[] = [{ id: 7, first: 'arsenal', second: 'benfica', startsAt: at }];
    const matches = matchListings([listing('a', 'benfica', 'arsenal', 5), listing('b', 'arsenal', 'benfica', -15)], known);
    expect(matches).toEqual(new Map([['a', { known: 7 }], ['b', { known: 7 }]]));
  });

  it('takes the nearest known start within the tolerance, the smaller id on a tie', () => {
    const known: KnownEvent[] = [
      { id: 3, first: 'arsenal', second: 'benfica', startsAt: at + 10 * minute },
      { id: 2, first: 'arsenal', second: 'benfica', startsAt: at - 10 * minute },
      { id: 1, first: 'arsenal', second: 'benfica', startsAt: at + 4 * minute },
    ];
    expect(matchListings([listing('near', 'arsenal', 'benfica', 3)], known).get('near')).toEqual({ known: 1 });
    expect(matchListings([listing('tie', 'arsenal', 'benfica', 0)], known.slice(0, 2)).get('tie')).toEqual({ known: 2 });
    expect(matchListings([listing('far', 'arsenal', 'benfica', 26)], known).get('far')).toEqual({ fresh: 0 });
  });

  it('groups new listings by the first listing’s start, numbering the groups from 0', () => {
    const matches = matchListings(
      [
        listing('a1', 'arsenal', 'benfica', 0),
        listing('c1', 'celtic', 'dynamo', 0),
        listing('a2', 'benfica', 'arsenal', 15),
        listing('a3', 'arsenal', 'benfica', 16), // 16 min after the group's start
        listing('a4', 'arsenal', 'benfica', 31), // nearer a3's group (15) than a1's (31)
      ],
      [],
    );
    expect(Object.fromEntries(matches)).toEqual({ a1: { fresh: 0 }, c1: { fresh: 1 }, a2: { fresh: 0 }, a3: { fresh: 2 }, a4: { fresh: 2 } });
  });

  it('prefers a known event to a fresh group', () => {
    const known: KnownEvent[] = [{ id: 9, first: 'arsenal', second: 'benfica', startsAt: at + 14 * minute }];
    const matches = matchListings([listing('a', 'arsenal', 'benfica', -10), listing('b', 'arsenal', 'benfica', 0)], known);
    expect(Object.fromEntries(matches)).toEqual({ a: { fresh: 0 }, b: { known: 9 } });
  });

  it('never matches a listing without a start or with an empty participant', () => {
    const known: KnownEvent[] = [{ id: 1, first: 'arsenal', second: '', startsAt: at }];
    const matches = matchListings(
      [listing('a', 'arsenal', '', 0), listing('b', 'arsenal', '', 0), listing('c', 'arsenal', 'benfica', null), listing('d', 'arsenal', 'benfica', null)],
      known,
    );
    expect(Object.fromEntries(matches)).toEqual({ a: { fresh: 0 }, b: { fresh: 1 }, c: { fresh: 2 }, d: { fresh: 3 } });
  });

  it('never joins different pairs, whatever their keys hold', () => {
    const matches = matchListings([listing('a', 'a b', 'c', 0), listing('b', 'a', 'b c', 0), listing('c', 'ab', 'c', 0)], []);
    expect(new Set([...matches.values()].map((match) => JSON.stringify(match))).size).toBe(3);
  });

  it('takes the tolerance it is given', () => {
    const known: KnownEvent[] = [{ id: 1, first: 'arsenal', second: 'benfica', startsAt: at }];
    expect(matchListings([listing('a', 'arsenal', 'benfica', 20)], known, 20 * minute).get('a')).toEqual({ known: 1 });
    expect(matchListings([listing('a', 'arsenal', 'benfica', 2)], known, minute).get('a')).toEqual({ fresh: 0 });
  });

  it('matches 10,000 listings of 10 platforms in well under 100 ms', () => {
    const events = 1_000;
    const listings: Listing[] = [];
    for (let platform = 0; platform < 10; platform += 1) {
      for (let event = 0; event < events; event += 1) {
        const [home, away] = [`team ${event % 200}`, `team ${(event * 7 + 13) % 200}-${event % 3}`];
        listings.push({ id: `${platform}:${event}`, first: platform % 2 ? away : home, second: platform % 2 ? home : away, startsAt: at + event * 2 * 3_600_000 + platform * minute });
      }
    }
    matchListings(listings, []); // warm up
    const started = performance.now();
    const matches = matchListings(listings, []);
    const elapsed = performance.now() - started;
    expect(new Set([...matches.values()].map((match) => JSON.stringify(match))).size).toBe(events);
    expect(elapsed).toBeLessThan(100);
  });
});
