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
    const base = 1.5 + ((n * 37 + seed.length * 11) % 300) / 100;
    const price = (selection: number, offset: number) => {
      const shift = scrape === 0 ? 0 : knobs.priceDrift * (((n + selection + scrape) % 3) - 1);
      return Math.round((base + offset + shift) * 100) / 100;
    };
    return {
      n,
      home,
      away,
      startsAt: new Date(epoch + 24 * 3_600_000 + n * SPACING_MS),
      prices: { home: price(0, 0), draw: price(1, 1.1), away: price(2, 0.6), over: price(3, -0.3), under: price(4, -0.2) },
    };
  });
}
