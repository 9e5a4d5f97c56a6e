import type { FeedKnobs } from '../simulatedFeeds.js';

/** The sporting events every simulated platform offers; each kind spells, identifies and times them its own way. */
export interface SimulatedEvent {
  /** Its number: the same sporting event has the same n on every platform. */
  n: number;
  home: string;
  away: string;
  startsAt: Date;
  /** Decimal prices, this bookmaker's, moved by the drift of this scrape. */
  prices: { home: number; draw: number; away: number; over: number; under: number };
}

export const TEAMS = ['Arsenal', 'Benfica', 'Celtic', 'Dynamo', 'Everton', 'Feyenoord', 'Galatasaray', 'Hertha', 'Inter', 'Juventus', 'Lazio', 'Marseille'];

/** Sporting event n starts this long after the one before it (12 teams repeat a pairing every 12: 36 h apart). */
const SPACING_MS = 3 * 3_600_000;

export interface EventsRequest {
  page: number;
  knobs: FeedKnobs;
  /** Scrapes of this platform before this one (0: the first, never moved by drift). */
  scrape: number;
  /** Who prices them: the same sporting event has different prices at different bookmakers. */
  seed: string;
  /** The simulator's start hour (ms): start times are laid out from a day after it. */
  epoch: number;
}

/** One page of sporting events: numbered as on a full page, so a thinned platform serves a subset of the same ones. */
export function simulatedEvents({ page, knobs, scrape, seed, epoch }: EventsRequest): SimulatedEvent[] {
  if (page > knobs.pages) return [];
  const count = Math.round(knobs.eventsPerPage * knobs.eventsFraction);
  return Array.from({ length: count }, (_, index) => {
    const n = (page - 1) * knobs.eventsPerPage + index;
    const home = TEAMS[n % TEAMS.length]!;
    const drawn = TEAMS[(n * 7 + 3) % TEAMS.length]!;
    const away = drawn === home ? 'Olympique' : drawn;
    // Drift moves chances, as a real market moves: one side shortens as the other lengthens, the margin stays.
    const move = (index: number) => (scrape === 0 ? 0 : knobs.priceDrift * DRIFT_CHANCE * (((n + index + scrape) % 3) - 1));
    const odds = bookmakerOdds(n, hashOf(seed), move(0), move(1));
    const price = (selection: keyof SimulatedEvent['prices']) => (knobs.fractionalMisread ? misreadFractional(odds[selection]) : odds[selection]);
    return {
      n,
      home,
      away,
      startsAt: new Date(epoch + 24 * 3_600_000 + n * SPACING_MS),
      prices: knobs.swapPrices
        ? { home: price('away'), draw: price('draw'), away: price('home'), over: price('over'), under: price('under') }
        : { home: price('home'), draw: price('draw'), away: price('away'), over: price('over'), under: price('under') },
    };
  });
}

/** A priceDrift of 1 moves a chance by this much: the default drift (0.05) moves a price of 2.5 by about 0.05. */
const DRIFT_CHANCE = 0.15;

/**
 * A bookmaker's prices for sporting event n as a real bookmaker sets them: every bookmaker starts from the
 * same chances of each outcome (so their prices for one selection lie close together), adds its own margin
 * (an overround of 1.04 to 1.08) and a little noise of its own (up to 2% a price). `homeMove` and
 * `overMove` shift chance from away to home and from under to over.
 */
function bookmakerOdds(n: number, bookmaker: number, homeMove: number, overMove: number): SimulatedEvent['prices'] {
  const home = 0.25 + 0.4 * fraction(n * 0.618034) + homeMove;
  const draw = 0.26;
  const over = 0.4 + 0.2 * fraction(n * 0.414214) + overMove;
  const margin = 1.04 + (bookmaker % 9) * 0.005;
  const priced = (chance: number, index: number) => {
    const noise = 1 + ((((bookmaker >>> 4) + n * 7 + index) % 5) - 2) * 0.01;
    return Math.round((noise / (chance * margin)) * 100) / 100;
  };
  return { home: priced(home, 0), draw: priced(draw, 1), away: priced(1 - home - draw, 2), over: priced(over, 3), under: priced(1 - over, 4) };
}

const fraction = (value: number) => value - Math.floor(value);

function hashOf(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index += 1) hash = (hash * 31 + text.charCodeAt(index)) >>> 0;
  return hash;
}

/** A fractional price read the way a broken parser reads it: `6/4` (2.5) as 6.4, `1/2` (1.5) as 1.2. */
function misreadFractional(decimal: number): number {
  let numerator = Math.round((decimal - 1) * 20);
  let denominator = 20;
  const divisor = gcd(numerator, denominator);
  numerator /= divisor;
  denominator /= divisor;
  return Number(`${numerator}.${denominator}`);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
