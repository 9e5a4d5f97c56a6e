import type { Server } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import type { PlatformKind } from '../shared/contract.js';
import { bypassInstrumentationFor } from '../telemetry/instrumentationBypass.js';
import { SIMULATED_KINDS, type SimulatorContext } from './simulator/kinds.js';
import { simulatedEvents, type SimulatedEvent } from './simulator/sportingEvents.js';

/**
 * Built-in simulated platforms: a small HTTP server on a loopback port serving fictional bookmakers, one
 * or more of every kind, each in its kind's own shape (simulator/*Route.ts). Each platform has knobs (latency per page, pages, failure rate, hang, price
 * drift, share of events served) that SIM_FEEDS and tests can change at run time to make a platform
 * slow, failing, hung, moving or silently thin.
 * Every platform serves the same sporting events (simulator/sportingEvents.ts), each spelled, identified
 * and timed its own way, so matching across platforms has real work to do.
 */

export interface FeedKnobs {
  /** Delay before each page is served. */
  latencyMs: number;
  pages: number;
  eventsPerPage: number;
  /** 0..1: probability that a page answers HTTP 503. */
  failureRate: number;
  /** Never answer (until the client gives up). */
  hang: boolean;
  /**
   * Price movement per scrape (a scrape starts with page 1): the Nth scrape moves each sporting event's
   * chances, home against away and over against under, by -drift, 0 or +drift times 0.15 (a price of 2.5
   * moves by about `drift`), a fixed pattern per event and N, so consecutive scrapes move some prices up,
   * some down and leave some unchanged, and every market keeps its bookmaker's margin. The first scrape is
   * never moved; 0 keeps prices fixed.
   */
  priceDrift: number;
  /** 0..1: the share of each page's sporting events actually served (a silent feed: fewer events, no error). */
  eventsFraction: number;
  /** Each price served as a broken parser reads a fractional one (`6/4` as 6.4): implausible markets. */
  fractionalMisread?: boolean;
  /** Home and away prices swapped (a shifted column): outliers against the other bookmakers. */
  swapPrices?: boolean;
  /** odds-api only: bookmakers the API no longer carries (their prices already stored go stale). */
  withoutBookmakers?: string[];
  /**
   * odds-api only: the credits of the plan (default 20,000). Each request costs markets x regions; once
   * the used credits reach this, the API answers its quota error (0: from the next request on).
   */
  quota?: number;
  /** browser only: the site's redesign (its API moved, its classes renamed): what the entry waits for never comes. */
  layoutChanged?: boolean;
  /** browser only: a challenge page (HTTP 403, "Just a moment...") instead of the site. */
  blockPage?: boolean;
  /** browser only: the document starts and never finishes loading. */
  neverLoads?: boolean;
  /** The platform entry's `minRequestIntervalMs` (read at start-up): its politeness between requests. */
  minRequestIntervalMs?: number;
}

/** The knobs every simulated platform starts with (latency and pages vary per platform below). */
const BASE: Omit<FeedKnobs, 'latencyMs' | 'pages' | 'eventsPerPage'> = { failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 };

export interface SimulatedPlatform extends FeedKnobs {
  kind: PlatformKind;
}

export const SIMULATED_BOOKMAKERS: Record<string, SimulatedPlatform> = {
  northwind: { kind: 'feed', latencyMs: 250, pages: 4, eventsPerPage: 12, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  luckyowl: { kind: 'feed', latencyMs: 400, pages: 3, eventsPerPage: 15, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  harborline: { kind: 'feed', latencyMs: 300, pages: 5, eventsPerPage: 10, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  redfox: { kind: 'feed', latencyMs: 500, pages: 3, eventsPerPage: 8, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  silverstake: { kind: 'feed', latencyMs: 200, pages: 6, eventsPerPage: 9, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  bluepeak: { kind: 'feed', latencyMs: 350, pages: 4, eventsPerPage: 11, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  /** An odds API (The Odds API v4's shape): one request, several bookmakers, quota headers. */
  oddsline: { kind: 'odds-api', latencyMs: 300, pages: 1, eventsPerPage: 24, ...BASE },
  /** A bookmaker's own JSON API: its own shape and spellings, cursor pagination. */
  quayside: { kind: 'json', latencyMs: 250, pages: 3, eventsPerPage: 10, ...BASE },
  /** A bookmaker's server-rendered HTML pages. */
  oakridge: { kind: 'html', latencyMs: 250, pages: 2, eventsPerPage: 12, ...BASE },
  /** A single-page bookmaker read in Chromium by capturing the JSON its page fetches. */
  kestrel: { kind: 'browser', latencyMs: 300, pages: 3, eventsPerPage: 8, ...BASE },
  /** The same kind of page, read from its rendered DOM (after a cookie banner). */
  nightjar: { kind: 'browser', latencyMs: 250, pages: 2, eventsPerPage: 10, ...BASE },
};

const knobsOverride = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000),
    pages: z.number().int().min(1).max(1_000),
    eventsPerPage: z.number().int().min(0).max(1_000),
    failureRate: z.number().min(0).max(1),
    hang: z.boolean(),
    // Above 0.15 a drifted price would move a market's overround by more than a bookmaker's margin does.
    priceDrift: z.number().min(0).max(0.15),
    eventsFraction: z.number().min(0).max(1),
    quota: z.number().int().min(0).max(1_000_000_000),
    layoutChanged: z.boolean(),
    blockPage: z.boolean(),
    neverLoads: z.boolean(),
    fractionalMisread: z.boolean(),
    swapPrices: z.boolean(),
    withoutBookmakers: z.array(z.string().min(1).max(100)).max(50),
    minRequestIntervalMs: z.number().int().min(0).max(600_000),
  })
  .partial()
  .strict();
const simFeedsSchema = z.record(z.string(), knobsOverride);

/** Parses SIM_FEEDS (knobs of the simulated platforms of every kind), e.g. `{"*":{"latencyMs":20},"redfox":{"failureRate":1}}` ("*" applies to every feed). */
export function parseSimFeeds(json: string | undefined): Record<string, Partial<FeedKnobs>> {
  if (!json) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('SIM_FEEDS: expected JSON like {"*":{"latencyMs":20},"redfox":{"failureRate":1}}');
  }
  const parsed = simFeedsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`SIM_FEEDS: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}

export class SimulatedFeeds {
  readonly knobs = new Map<string, SimulatedPlatform>();
  private server: ServerType | undefined;
  private baseUrl = '';
  private readonly requestCounts = new Map<string, number>();
  private readonly scrapeCounts = new Map<string, number>();
  /** Secrets the simulated platforms require (the odds API's key), as an environment for their entries. */
  readonly env: Record<string, string> = { SIMULATED_ODDS_API_KEY: `sim-${crypto.randomUUID()}` };
  /** Start times are laid out from here (the hour the simulator started), so they hold still between scrapes. */
  readonly epoch = Math.floor(Date.now() / 3_600_000) * 3_600_000;

  /** `browsers`: whether the simulated `browser` platforms are served (a Chromium is there to read them). */
  constructor(overrides: Record<string, Partial<FeedKnobs>> = {}, options: { browsers?: boolean } = {}) {
    const everyFeed = overrides['*'] ?? {};
    for (const [name, defaults] of Object.entries(SIMULATED_BOOKMAKERS)) {
      if (defaults.kind === 'browser' && options.browsers === false) continue;
      this.knobs.set(name, { ...defaults, ...everyFeed, ...overrides[name] });
    }
    for (const name of Object.keys(overrides)) {
      if (name !== '*' && !(name in SIMULATED_BOOKMAKERS)) throw new Error(`SIM_FEEDS: unknown simulated platform ${name}`);
    }
  }

  get names(): string[] {
    return [...this.knobs.keys()];
  }

  /** The PLATFORMS_FILE entry of a simulated platform, as an operator would write it (secrets as `{ "env" }` refs into `env`). */
  entryOf(name: string): Record<string, unknown> {
    const platform = this.knobs.get(name);
    if (!platform) throw new Error(`unknown simulated platform ${name}`);
    const entry = SIMULATED_KINDS[platform.kind].entry(name, this.baseUrl);
    return platform.minRequestIntervalMs === undefined ? entry : { ...entry, minRequestIntervalMs: platform.minRequestIntervalMs };
  }

  /** The feed kind's base URL (tests of the feed kind). */
  urlOf(name: string): string {
    return `${this.baseUrl}/feeds/${name}`;
  }

  /** Changes a platform's knobs at run time (tests). */
  set(name: string, knobs: Partial<FeedKnobs>): void {
    const current = this.knobs.get(name);
    if (!current) throw new Error(`unknown simulated platform ${name}`);
    this.knobs.set(name, { ...current, ...knobs });
  }

  /** Requests served per platform since start (tests measure which platforms were really scraped). */
  requests(name: string): number {
    return this.requestCounts.get(name) ?? 0;
  }

  async start(): Promise<void> {
    const app = new Hono();
    const context: SimulatorContext = {
      knobsOf: (name, kind) => {
        const knobs = this.knobs.get(name);
        return knobs?.kind === kind ? knobs : undefined;
      },
      serve: (name, page, signal) => this.serve(name, page, signal),
      events: (name, page, knobs, bookmaker) => this.events(name, page, knobs, bookmaker),
      env: this.env,
    };
    for (const kind of Object.values(SIMULATED_KINDS)) kind.routes(app, context);
    await new Promise<void>((resolve) => {
      this.server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
        this.baseUrl = `http://127.0.0.1:${info.port}`;
        resolve();
      });
      // The bookmakers are not oddswatch: their requests make no server span (a trace of its own per feed
      // page) and no http.server.request.duration record (route-less series, and their injected 503s
      // counted as the service's errors).
      bypassInstrumentationFor(this.server as Server, () => true);
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => resolve());
    });
  }

  /**
   * The knobs every kind obeys, before a page is served: counts the request (a scrape starts with page 1),
   * hangs until the client gives up, waits the latency, fails with the failure rate. Resolves 'serve' to go
   * on, 'fail' to answer 503, 'gone' when the client left.
   */
  private async serve(name: string, page: number, signal: AbortSignal): Promise<'serve' | 'fail' | 'gone'> {
    const knobs = this.knobs.get(name);
    if (!knobs) return 'fail';
    this.requestCounts.set(name, this.requests(name) + 1);
    if (page === 1) this.scrapeCounts.set(name, (this.scrapeCounts.get(name) ?? 0) + 1);
    if (knobs.hang) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return 'gone';
    }
    if (knobs.latencyMs > 0) await abortableDelay(knobs.latencyMs, signal);
    if (signal.aborted) return 'gone';
    return Math.random() < knobs.failureRate ? 'fail' : 'serve';
  }

  private events(name: string, page: number, knobs: FeedKnobs, bookmaker = name): SimulatedEvent[] {
    const scrape = Math.max(0, (this.scrapeCounts.get(name) ?? 1) - 1);
    return simulatedEvents({ page, knobs, scrape, seed: bookmaker, epoch: this.epoch });
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
