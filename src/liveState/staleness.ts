import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';
import { STALE_AFTER_INTERVALS, type BookmakerFreshness } from '../shared/contract.js';

/**
 * The one definition of stale (see STALE_AFTER_INTERVALS in contract.ts and the glossary): a platform whose last
 * successful scrape is older than STALE_AFTER_INTERVALS scrape intervals. The alert rules apply the same one to
 * oddswatch_platform_last_success_timestamp_seconds and oddswatch_scrape_interval_seconds.
 */
export const staleAfterSeconds = (scrapeIntervalSeconds: number): number => STALE_AFTER_INTERVALS * scrapeIntervalSeconds;

export function freshnessOf(platform: string, lastSuccessAt: Date | null, scrapeIntervalSeconds: number, now: number = Date.now()): BookmakerFreshness {
  if (!lastSuccessAt) return { platform, lastSuccessAt: null, stale: false, staleAt: null };
  const staleAt = lastSuccessAt.getTime() + staleAfterSeconds(scrapeIntervalSeconds) * 1000;
  return { platform, lastSuccessAt: lastSuccessAt.toISOString(), stale: now > staleAt, staleAt: new Date(staleAt).toISOString() };
}

/**
 * When each platform's last successful scrape finished (absent: none), from the database, so every replica answers
 * alike. One index look-up per platform ((platform, finished_at), newest first).
 */
export async function lastSuccesses(orm: Orm, platforms: readonly string[]): Promise<Map<string, Date>> {
  const rows = await boundRows<{ platform: string; finished_at: Date | string | null }>(
    orm,
    `select p.platform, (
       select ps.finished_at from platform_steps ps
       where ps.platform = p.platform and ps.status = 'completed' and ps.finished_at is not null
       order by ps.finished_at desc limit 1
     ) as finished_at
     from unnest(?::text[]) as p(platform)`,
    [sqlArray(platforms)],
  );
  return new Map(rows.flatMap((row) => (row.finished_at === null ? [] : [[row.platform, new Date(row.finished_at)] as const])));
}
