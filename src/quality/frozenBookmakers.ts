import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { selectFrozen, type FrozenVerdict } from '../db/tables/bookmakerQuality.js';

/**
 * Frozen prices: a bookmaker none of whose prices changed in its last QUALITY_FROZEN_SCRAPES (6) scrapes
 * while another bookmaker's price for one of the same sporting events did: a page serving a cached copy,
 * a feed stuck on yesterday's file. Judged in the database after each completed step of its platform
 * (db/tables/bookmakerQuality.ts), whichever replica ran it; every replica's gauge
 * (oddswatch_bookmaker_frozen) reads the verdicts from there again when it is scraped and they are over
 * REFRESH_MS old, so all replicas agree within that. At most MAX_FROZEN_SERIES bookmakers are exported.
 */

export const REFRESH_MS = 15_000;
export const MAX_FROZEN_SERIES = 500;

export interface FrozenState {
  platform: string;
  bookmaker: string;
  frozen: boolean;
}

export class FrozenBookmakers {
  private verdicts = new Map<string, FrozenState>();
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly orm: Orm,
    private readonly platforms: readonly string[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A step of this replica judged its platform's bookmakers. */
  judged(platform: string, verdicts: readonly FrozenVerdict[]): void {
    for (const { bookmaker, frozen } of verdicts) {
      const key = `${platform}\u0000${bookmaker}`;
      if (this.verdicts.has(key) || this.verdicts.size < MAX_FROZEN_SERIES) this.verdicts.set(key, { platform, bookmaker, frozen });
    }
  }

  /** Each bookmaker's last verdict, read again from the database when over REFRESH_MS old (the last known ones when it does not answer). */
  async states(): Promise<Iterable<FrozenState>> {
    if (this.now() - this.readAt > REFRESH_MS) {
      this.reading ??= this.read().finally(() => (this.reading = undefined));
      await this.reading;
    }
    return this.verdicts.values();
  }

  private async read(): Promise<void> {
    try {
      const rows = await selectFrozen(this.orm, this.platforms, MAX_FROZEN_SERIES);
      this.verdicts = new Map(rows.map((row) => [`${row.platform}\u0000${row.bookmaker}`, row]));
      this.readAt = this.now();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the frozen-bookmaker verdicts; the gauge keeps the last ones');
    }
  }
}
