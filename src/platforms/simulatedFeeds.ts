import type { Server } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import { bypassInstrumentationFor } from '../telemetry/instrumentationBypass.js';

/**
 * Built-in simulated bookmakers: a small HTTP server on a loopback port serving fictional feeds in the
 * format httpJsonAdapter reads. Each feed has knobs (latency per page, pages, failure rate, hang, price
 * drift, share of events served) that SIM_FEEDS and tests can change at run time to make a platform
 * slow, failing, hung, moving or silently thin.
 * Sporting events carry one id across bookmakers (`ev-N`, as an odds aggregator's normalised feed does),
 * so their prices can be compared.
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
   * Price movement per scrape (a scrape starts with page 1): the Nth scrape shifts each price by
   * -drift, 0 or +drift, a fixed pattern per selection and N, so consecutive scrapes move some prices
   * up, some down and leave some unchanged. The first scrape is never shifted; 0 keeps prices fixed.
   */
  priceDrift: number;
  /** 0..1: the share of each page's sporting events actually served (a silent feed: fewer events, no error). */
  eventsFraction: number;
}

export const SIMULATED_BOOKMAKERS: Record<string, FeedKnobs> = {
  northwind: { latencyMs: 250, pages: 4, eventsPerPage: 12, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  luckyowl: { latencyMs: 400, pages: 3, eventsPerPage: 15, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  harborline: { latencyMs: 300, pages: 5, eventsPerPage: 10, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  redfox: { latencyMs: 500, pages: 3, eventsPerPage: 8, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  silverstake: { latencyMs: 200, pages: 6, eventsPerPage: 9, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
  bluepeak: { latencyMs: 350, pages: 4, eventsPerPage: 11, failureRate: 0, hang: false, priceDrift: 0.05, eventsFraction: 1 },
};

const knobsOverride = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000),
    pages: z.number().int().min(1).max(1_000),
    eventsPerPage: z.number().int().min(0).max(1_000),
    failureRate: z.number().min(0).max(1),
    hang: z.boolean(),
    // Above 0.15 the lowest simulated price (1.2) could reach 1, which odds refuse.
    priceDrift: z.number().min(0).max(0.15),
    eventsFraction: z.number().min(0).max(1),
  })
  .partial()
  .strict();
const simFeedsSchema = z.record(z.string(), knobsOverride);

/** Parses SIM_FEEDS, e.g. `{"*":{"latencyMs":20},"redfox":{"failureRate":1}}` ("*" applies to every feed). */
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

const TEAMS = ['Arsenal', 'Benfica', 'Celtic', 'Dynamo', 'Everton', 'Feyenoord', 'Galatasaray', 'Hertha', 'Inter', 'Juventus', 'Lazio', 'Marseille'];

export class SimulatedFeeds {
  readonly knobs = new Map<string, FeedKnobs>();
  private server: ServerType | undefined;
  private baseUrl = '';
  private readonly requestCounts = new Map<string, number>();
  private readonly scrapeCounts = new Map<string, number>();

  constructor(overrides: Record<string, Partial<FeedKnobs>> = {}) {
    const everyFeed = overrides['*'] ?? {};
    for (const [name, defaults] of Object.entries(SIMULATED_BOOKMAKERS)) {
      this.knobs.set(name, { ...defaults, ...everyFeed, ...overrides[name] });
    }
    for (const name of Object.keys(overrides)) {
      if (name !== '*' && !this.knobs.has(name)) throw new Error(`SIM_FEEDS: unknown simulated bookmaker ${name}`);
    }
  }

  get names(): string[] {
    return [...this.knobs.keys()];
  }

  urlOf(name: string): string {
    return `${this.baseUrl}/feeds/${name}`;
  }

  /** Changes a feed's knobs at run time (tests). */
  set(name: string, knobs: Partial<FeedKnobs>): void {
    const current = this.knobs.get(name);
    if (!current) throw new Error(`unknown simulated bookmaker ${name}`);
    this.knobs.set(name, { ...current, ...knobs });
  }

  /** Pages served per feed since start (tests measure which platforms were really scraped). */
  requests(name: string): number {
    return this.requestCounts.get(name) ?? 0;
  }

  async start(): Promise<void> {
    const app = new Hono();
    app.get('/feeds/:name/events', async (c) => {
      const name = c.req.param('name');
      const knobs = this.knobs.get(name);
      if (!knobs) return c.json({ error: 'unknown feed' }, 404);
      this.requestCounts.set(name, this.requests(name) + 1);
      const page = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
      if (page === 1) this.scrapeCounts.set(name, (this.scrapeCounts.get(name) ?? 0) + 1);
      if (knobs.hang) {
        await new Promise<void>((resolve) => c.req.raw.signal.addEventListener('abort', () => resolve(), { once: true }));
        return c.body(null, 503);
      }
      if (knobs.latencyMs > 0) await abortableDelay(knobs.latencyMs, c.req.raw.signal);
      if (Math.random() < knobs.failureRate) return c.json({ error: 'feed temporarily unavailable' }, 503);
      return c.json({ page, totalPages: knobs.pages, events: page > knobs.pages ? [] : this.events(name, page, knobs) });
    });
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

  private events(name: string, page: number, knobs: FeedKnobs) {
    const count = Math.round(knobs.eventsPerPage * knobs.eventsFraction);
    const scrape = Math.max(0, (this.scrapeCounts.get(name) ?? 1) - 1);
    return Array.from({ length: count }, (_, index) => {
      // Numbered as on a full page: a thinned feed serves a subset of the same sporting events.
      const n = (page - 1) * knobs.eventsPerPage + index;
      const home = TEAMS[n % TEAMS.length]!;
      const away = TEAMS[(n * 7 + 3) % TEAMS.length]!;
      const base = 1.5 + ((n * 37 + name.length * 11) % 300) / 100;
      const price = (selection: number, offset: number) => {
        const shift = scrape === 0 ? 0 : knobs.priceDrift * (((n + selection + scrape) % 3) - 1);
        return Math.round((base + offset + shift) * 100) / 100;
      };
      return {
        id: `ev-${n}`,
        name: `${home} v ${away === home ? 'Olympique' : away}`,
        markets: [
          {
            name: 'match_result',
            selections: [
              { name: 'home', price: price(0, 0) },
              { name: 'draw', price: price(1, 1.1) },
              { name: 'away', price: price(2, 0.6) },
            ],
          },
          {
            name: 'total_goals_2.5',
            selections: [
              { name: 'over', price: price(3, -0.3) },
              { name: 'under', price: price(4, -0.2) },
            ],
          },
        ],
      };
    });
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
