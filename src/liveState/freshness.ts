import type { LastSuccessfulStep } from './lastSuccessfulSteps.js';

/**
 * Freshness: when each configured platform was last scraped successfully, exposed as
 * oddswatch_platform_last_success_timestamp_seconds. Loaded from the database at start-up, then moved
 * forward by every successful scrape in this process. Only the configured platforms: a platform removed
 * from PLATFORMS_FILE keeps its rows in the database, and a timestamp that can only age would page
 * (OddswatchNoFreshOdds) for a bookmaker nobody scrapes any more, forever.
 */
export class Freshness {
  private readonly lastSuccess = new Map<string, number>();
  private readonly configured: ReadonlySet<string>;

  constructor(
    platforms: readonly string[],
    lastSteps: ReadonlyMap<string, Pick<LastSuccessfulStep, 'finishedAt'>> = new Map(),
    private readonly now: () => number = Date.now,
  ) {
    this.configured = new Set(platforms);
    for (const [platform, { finishedAt }] of lastSteps) {
      if (this.configured.has(platform)) this.lastSuccess.set(platform, finishedAt.getTime() / 1000);
    }
  }

  succeeded(platform: string): void {
    if (this.configured.has(platform)) this.lastSuccess.set(platform, this.now() / 1000);
  }

  /** Unix seconds of each configured platform's last success (absent: none yet). */
  lastSuccessSeconds(): ReadonlyMap<string, number> {
    return this.lastSuccess;
  }
}
