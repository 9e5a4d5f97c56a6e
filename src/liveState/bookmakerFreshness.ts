import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { selectNewestPrices } from '../db/tables/odds.js';

/** Bookmakers exported at most, across platforms: an aggregator's response names its bookmakers, and a label set per name must stay bounded. */
export const MAX_BOOKMAKER_SERIES = 500;

export interface BookmakerPrice {
  platform: string;
  bookmaker: string;
  /** Unix seconds of the bookmaker's newest price on the platform. */
  seconds: number;
}

/**
 * Stale prices: when each bookmaker's newest price was written, exposed as
 * oddswatch_bookmaker_last_price_timestamp_seconds{platform, bookmaker} (the alert rules turn it into an age).
 * Read from the database at start-up, then moved forward by every step of this replica that wrote prices.
 * Another replica's steps move its own copy: Prometheus takes the newest across replicas. Only configured
 * platforms, and at most MAX_BOOKMAKER_SERIES bookmakers (the rest are left out, said once in the log).
 */
export class BookmakerFreshness {
  private readonly newest = new Map<string, BookmakerPrice>();
  private readonly configured: ReadonlySet<string>;
  private saidFull = false;

  constructor(
    platforms: readonly string[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.configured = new Set(platforms);
  }

  static async load(orm: Orm, platforms: readonly string[], logger: Logger): Promise<BookmakerFreshness> {
    const freshness = new BookmakerFreshness(platforms, logger);
    for (const row of await selectNewestPrices(orm, platforms, MAX_BOOKMAKER_SERIES)) {
      freshness.set(row.platform, row.bookmaker, new Date(row.newest).getTime() / 1000);
    }
    return freshness;
  }

  /** A step of `platform` wrote prices of these bookmakers. */
  wrote(platform: string, bookmakers: Iterable<string>): void {
    if (!this.configured.has(platform)) return;
    const seconds = this.now() / 1000;
    for (const bookmaker of bookmakers) this.set(platform, bookmaker, seconds);
  }

  /** Each bookmaker's newest price, by platform. */
  newestPrices(): Iterable<BookmakerPrice> {
    return this.newest.values();
  }

  private set(platform: string, bookmaker: string, seconds: number): void {
    const key = `${platform}\u0000${bookmaker}`;
    const known = this.newest.get(key);
    if (known) {
      known.seconds = Math.max(known.seconds, seconds);
      return;
    }
    if (this.newest.size >= MAX_BOOKMAKER_SERIES) {
      if (!this.saidFull) this.logger.warn({ platform, bookmaker, max: MAX_BOOKMAKER_SERIES }, 'too many bookmakers to export the age of their prices; the rest are left out');
      this.saidFull = true;
      return;
    }
    this.newest.set(key, { platform, bookmaker, seconds });
  }
}
