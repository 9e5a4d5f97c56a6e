import type { Hono } from 'hono';
import type { PlatformKind } from '../../shared/contract.js';
import type { FeedKnobs } from '../simulatedFeeds.js';
import { browserRoute } from './browserRoute.js';
import { feedRoute } from './feedRoute.js';
import { htmlRoute } from './htmlRoute.js';
import { jsonRoute } from './jsonRoute.js';
import { oddsApiRoute } from './oddsApiRoute.js';
import type { SimulatedEvent } from './sportingEvents.js';

/** What the simulator's server lends each kind's routes. */
export interface SimulatorContext {
  /** The knobs of a simulated platform of this kind; undefined for any other name (answer 404). */
  knobsOf(name: string, kind: PlatformKind): FeedKnobs | undefined;
  /**
   * The knobs every kind obeys, awaited before a page is served: counts the request (page 1 starts a
   * scrape), hangs, waits the latency, draws a failure. 'fail': answer 503; 'gone': the client left.
   */
  serve(name: string, page: number, signal: AbortSignal): Promise<'serve' | 'fail' | 'gone'>;
  /** One page of the sporting events, priced by `bookmaker` (default: the platform). */
  events(name: string, page: number, knobs: FeedKnobs, bookmaker?: string): SimulatedEvent[];
  /** Secrets the entries refer to (`{ "env": "SIMULATED_ODDS_API_KEY" }`). */
  env: Readonly<Record<string, string>>;
}

/** One kind's part of the simulator: its routes, and the PLATFORMS_FILE entry that reads them. */
export interface SimulatedKind {
  routes(app: Hono, context: SimulatorContext): void;
  entry(name: string, origin: string): Record<string, unknown>;
}

export const SIMULATED_KINDS: Record<PlatformKind, SimulatedKind> = {
  feed: feedRoute,
  'odds-api': oddsApiRoute,
  json: jsonRoute,
  html: htmlRoute,
  browser: browserRoute,
};
