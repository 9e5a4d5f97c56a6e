import type { PlatformOutcome } from '../runs/platformOutcomes.js';

/**
 * Freshness: when each platform was last scraped successfully, exposed as
 * oddswatch_platform_last_success_timestamp_seconds. Loaded from the database at start-up, then moved
 * forward by every successful scrape in this process.
 */
export class Freshness {
  private readonly lastSuccess = new Map<string, number>();

  constructor(
    outcomes: readonly Pick<PlatformOutcome, 'platform' | 'lastSuccessAt'>[] = [],
    private readonly now: () => number = Date.now,
  ) {
    for (const { platform, lastSuccessAt } of outcomes) if (lastSuccessAt) this.lastSuccess.set(platform, lastSuccessAt.getTime() / 1000);
  }

  succeeded(platform: string): void {
    this.lastSuccess.set(platform, this.now() / 1000);
  }

  /** Unix seconds of each platform's last success. */
  lastSuccessSeconds(): ReadonlyMap<string, number> {
    return this.lastSuccess;
  }
}
