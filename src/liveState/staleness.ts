import type { Orm } from '../db/database.js';
import { lastSuccessfulSteps } from './lastSuccessfulSteps.js';
import { STALE_AFTER_INTERVALS, type BookmakerFreshness } from '../shared/contract.js';

/**
 * The one definition of stale (see STALE_AFTER_INTERVALS in contract.ts and the glossary): a platform whose last
 * successful scrape is older than STALE_AFTER_INTERVALS scrape intervals. The alert rules apply the same one to
 * oddswatch_platform_last_success_timestamp_seconds and oddswatch_scrape_interval_seconds.
 */
export const staleAfterSeconds = (scrapeIntervalSeconds: number): number => STALE_AFTER_INTERVALS * scrapeIntervalSeconds;

/** When something last written at `at` goes stale (unix ms). */
const staleAtOf = (at: Date, scrapeIntervalSeconds: number): number => at.getTime() + staleAfterSeconds(scrapeIntervalSeconds) * 1000;

export function freshnessOf(platform: string, lastSuccessAt: Date | null, scrapeIntervalSeconds: number, now: number = Date.now()): BookmakerFreshness {
  if (!lastSuccessAt) return { platform, lastSuccessAt: null, stale: false, staleAt: null };
  const staleAt = staleAtOf(lastSuccessAt, scrapeIntervalSeconds);
  return { platform, lastSuccessAt: lastSuccessAt.toISOString(), stale: now > staleAt, staleAt: new Date(staleAt).toISOString() };
}

/** When each platform's last successful scrape finished (absent: none). */
export async function lastSuccesses(orm: Orm, platforms: readonly string[]): Promise<Map<string, Date>> {
  return new Map([...(await lastSuccessfulSteps(orm, platforms))].map(([platform, step]) => [platform, step.finishedAt]));
}

/**
 * A bookmaker's prices are stale when its newest price is older than the stale threshold while its platform is
 * fresh: the platform answers, but no longer with this bookmaker's prices (OddswatchStalePrices applies the same
 * rule to oddswatch_bookmaker_last_price_timestamp_seconds). A stale platform's bookmakers are not: the platform is.
 */
export function bookmakerPricesStale(lastPriceAt: Date, platformLastSuccessAt: Date | null, scrapeIntervalSeconds: number, now: number = Date.now()): boolean {
  const platformFresh = platformLastSuccessAt !== null && now <= staleAtOf(platformLastSuccessAt, scrapeIntervalSeconds);
  return platformFresh && now > staleAtOf(lastPriceAt, scrapeIntervalSeconds);
}
