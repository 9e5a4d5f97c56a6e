/**
 * Matching 10,000 listings: 1,000 sporting events on 10 platforms, each platform spelling the teams its own
 * way (case, accents, club-form affixes, points, the v/vs/-/@ separator, home and away apart or swapped) and
 * shifting start times by 0 to 10 minutes. Timed, alternated in one process, medians:
 *  - baseline: a naive grouping by exact key (event name and start) in a Map, what matching replaces;
 *  - matchListings alone, participant keys computed beforehand, with no known event and with all 1,000 known;
 *  - the whole read: eventParticipants + participantKey for every listing, then matchListings.
 * Ratios against the baseline; the goal is the whole read well under 100 ms. Also the quality of each
 * grouping: groups found against the 1,000 true events, and groups mixing two events (must be 0).
 * Usage: npm run bench:matching (BENCH_ROUNDS, default 30).
 */
import { matchListings, type KnownEvent, type Listing, type ListingMatch } from '../src/platforms/matching/matcher.js';
import { eventParticipants, participantKey } from '../src/platforms/matching/participants.js';
import { median } from './support.js';

const EVENTS = 1_000;
const PLATFORMS = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const WARMUP = 5;
const GOAL_MS = 100;
const MINUTE = 60_000;
const EPOCH = Date.UTC(2026, 4, 2, 12);

const TEAMS = [
  'Arsenal', 'Atlético Madrid', 'Real Sociedad', 'Bayern München', 'Borussia Mönchengladbach', 'Paris Saint-Germain', 'Olympique Lyonnais',
  'Saint-Étienne', 'Bodø/Glimt', 'Malmö', 'Galatasaray', 'Fenerbahçe', 'Beşiktaş', 'Legia Warszawa', 'Śląsk Wrocław', 'Dinamo Zagreb',
  'Hajduk Split', 'Crvena Zvezda', 'Ferencváros', 'Slavia Praha', 'Sparta Praha', 'Benfica', 'Sporting', 'Porto', 'Braga', 'Celtic', 'Rangers',
  "Newell's Old Boys", 'São Paulo', 'Grêmio', 'Atlético Mineiro', 'Brighton & Hove Albion', 'Nottingham Forest', 'Wolverhampton Wanderers',
  'St. Pauli', 'Köln', 'Union Berlin', 'Hertha', 'Schalke 04', 'Mainz 05', 'Napoli', 'Lazio', 'Roma', 'Milan', 'Internazionale', 'Juventus',
  'Fiorentina', 'Nice', 'Lens', 'Monaco', 'Ajax', 'Feyenoord', 'PSV', 'Anderlecht', 'Club Brugge', 'Genk', 'Rapid Wien', 'Salzburg',
  'Young Boys', 'Basel',
];

interface TrueEvent {
  n: number;
  home: string;
  away: string;
  startsAt: number;
}

/** Platform listings as they arrive: name (and maybe home/away apart), start, and the true event for scoring. */
interface RawListing {
  id: string;
  eventName: string;
  home?: string;
  away?: string;
  startsAt: number;
  truth: number;
}

const stripAccents = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '');
/** Each platform's way of writing one sporting event. */
const SPELLINGS: ((home: string, away: string) => Pick<RawListing, 'eventName' | 'home' | 'away'>)[] = [
  (home, away) => ({ eventName: `${home} v ${away}` }),
  (home, away) => ({ eventName: `${home.toUpperCase()} VS ${away.toUpperCase()}` }),
  (home, away) => ({ eventName: `${home} FC - ${away} FC` }),
  (home, away) => ({ eventName: `${away} @ ${home}` }),
  (home, away) => ({ eventName: `Match ${home.length}`, home: stripAccents(home), away: stripAccents(away) }),
  (home, away) => ({ eventName: `F.C. ${home} vs. ${away} A.F.C.` }),
  (home, away) => ({ eventName: `${home.toLowerCase()} – ${away.toLowerCase()}` }),
  (home, away) => ({ eventName: `${away} v ${home}` }),
  (home, away) => ({ eventName: `${home.replace(/[.'’]/g, '').replace(/ /g, '-')} - ${away.replace(/[.'’]/g, '')}` }),
  (home, away) => ({ eventName: `AC ${stripAccents(home).replace("'", '’')} vs ${away} SC` }),
];

/** 1,000 distinct pairs (a pair twice would be two events only by their start), 20 kick-off slots a day. */
function trueEvents(): TrueEvent[] {
  const events: TrueEvent[] = [];
  const seen = new Set<string>();
  let state = 7;
  // mulberry32: a fixed sequence, the same events every run
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return (mixed ^ (mixed >>> 14)) >>> 0;
  };
  while (events.length < EVENTS) {
    const [home, away] = [TEAMS[next() % TEAMS.length]!, TEAMS[next() % TEAMS.length]!];
    const pair = [home, away].sort().join('|');
    if (home === away || seen.has(pair)) continue;
    seen.add(pair);
    const n = events.length;
    events.push({ n, home, away, startsAt: EPOCH + Math.floor(n / 20) * 24 * 60 * MINUTE + (n % 20) * 45 * MINUTE });
  }
  return events;
}

function platformListings(events: TrueEvent[]): RawListing[] {
  return Array.from({ length: PLATFORMS }, (_, platform) =>
    events.map((event) => ({
      id: `p${platform}:${event.n}`,
      ...SPELLINGS[platform]!(event.home, event.away),
      startsAt: event.startsAt + ((platform * 7) % 11) * MINUTE,
      truth: event.n,
    })),
  ).flat();
}

/** The naive baseline: exact event name (or home v away) and start as one key. */
function exactKeyGrouping(listings: readonly RawListing[]): Map<string, number> {
  const groups = new Map<string, number>();
  const result = new Map<string, number>();
  for (const listing of listings) {
    const key = `${listing.home !== undefined ? `${listing.home} v ${listing.away}` : listing.eventName}\u0000${listing.startsAt}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = groups.size));
    result.set(listing.id, group);
  }
  return result;
}

function keyed(listings: readonly RawListing[]): Listing[] {
  return listings.map((listing) => {
    const sides = eventParticipants(listing);
    return { id: listing.id, first: sides ? participantKey(sides.home) : '', second: sides ? participantKey(sides.away) : '', startsAt: listing.startsAt };
  });
}

/** Groups found, and groups holding listings of more than one true event. */
function quality(groupOf: (id: string) => string, listings: readonly RawListing[]): { groups: number; mixed: number } {
  const truths = new Map<string, Set<number>>();
  for (const listing of listings) {
    const group = groupOf(listing.id);
    let set = truths.get(group);
    if (!set) truths.set(group, (set = new Set()));
    set.add(listing.truth);
  }
  return { groups: truths.size, mixed: [...truths.values()].filter((set) => set.size > 1).length };
}

const label = (match: ListingMatch | undefined) => (match === undefined ? 'missing' : 'known' in match ? `k${match.known}` : `f${match.fresh}`);

const events = trueEvents();
const raw = platformListings(events);
const precomputed = keyed(raw);
const known: KnownEvent[] = events.map((event) => ({ id: event.n + 1, first: participantKey(event.home), second: participantKey(event.away), startsAt: event.startsAt }));

const arms = {
  baseline: () => exactKeyGrouping(raw),
  'matchListings, nothing known': () => matchListings(precomputed, []),
  'matchListings, 1,000 known': () => matchListings(precomputed, known),
  'whole read (keys + matchListings)': () => matchListings(keyed(raw), []),
} as const;
type Arm = keyof typeof arms;
const times = Object.fromEntries(Object.keys(arms).map((arm) => [arm, [] as number[]])) as Record<Arm, number[]>;

for (let round = 0; round < WARMUP + ROUNDS; round += 1) {
  const order = (Object.keys(arms) as Arm[])[round % 2 === 0 ? 'slice' : 'reverse']();
  for (const arm of order) {
    const started = performance.now();
    arms[arm]();
    const elapsed = performance.now() - started;
    if (round >= WARMUP) times[arm].push(elapsed);
  }
}

const baselineGroups = exactKeyGrouping(raw);
const fresh = matchListings(keyed(raw), []);
const withKnown = matchListings(precomputed, known);
const scores = {
  baseline: quality((id) => String(baselineGroups.get(id)), raw),
  matching: quality((id) => label(fresh.get(id)), raw),
  known: quality((id) => label(withKnown.get(id)), raw),
};

console.log(`matching ${raw.length} listings (${EVENTS} sporting events x ${PLATFORMS} platforms, starts shifted 0-10 min), ${ROUNDS} alternated rounds after ${WARMUP} warm-up, medians:`);
const base = median(times.baseline);
for (const arm of Object.keys(arms) as Arm[]) {
  const ms = median(times[arm]);
  console.log(`  ${arm.padEnd(36)} ${ms.toFixed(2).padStart(7)} ms  ${(ms / base).toFixed(2).padStart(6)}x baseline`);
}
const whole = median(times['whole read (keys + matchListings)']);
console.log(`  whole read ${whole < GOAL_MS ? 'within' : 'OVER'} the ${GOAL_MS} ms goal`);
console.log(`groups found (true: ${EVENTS}), groups mixing two sporting events (must be 0):`);
console.log(`  baseline (exact key)          ${String(scores.baseline.groups).padStart(6)} groups, ${scores.baseline.mixed} mixed`);
console.log(`  matching, nothing known       ${String(scores.matching.groups).padStart(6)} groups, ${scores.matching.mixed} mixed`);
console.log(`  matching, 1,000 known         ${String(scores.known.groups).padStart(6)} groups, ${scores.known.mixed} mixed`);
if (scores.matching.mixed > 0 || scores.known.mixed > 0) process.exitCode = 1;
