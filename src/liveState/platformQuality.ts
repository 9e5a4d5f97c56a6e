import type { Orm } from '../db/database.js';
import { selectPlatformQuality } from '../db/tables/bookmakerQuality.js';
import { PLATFORM_QUALITY_BOOKMAKERS, type PlatformQuality } from '../shared/contract.js';
import { bookmakerPricesStale } from './staleness.js';

/** Each platform's quality, given each one's last success (which decides whether a bookmaker is stale). */
export type JudgePlatformQuality = (lastSuccessAt: (platform: string) => Date | null) => Map<string, PlatformQuality>;

/**
 * Each platform's data quality at a glance (GET /api/platforms): read from the database on each request, so
 * every replica answers the same whichever ran the steps. Read beside the platforms' last steps (one round
 * trip each, at once), judged once both are in.
 */
export async function platformQuality(orm: Orm, platforms: readonly string[], scrapeIntervalSeconds: number, now: number = Date.now()): Promise<JudgePlatformQuality> {
  const rows = await selectPlatformQuality(orm, platforms, PLATFORM_QUALITY_BOOKMAKERS);
  return (lastSuccessAt) => new Map(
    rows.map((row) => {
      const checked = row.run_id !== null && (row.markets_checked ?? 0) > 0;
      return [
        row.platform,
        {
          runId: row.run_id === null ? null : Number(row.run_id),
          marketsChecked: checked ? row.markets_checked : null,
          implausibleMarkets: checked ? row.implausible_markets : null,
          outlierPrices: row.outlier_prices,
          coverageDrops: row.coverage_drops,
          bookmakers: row.bookmakers.map((bookmaker) => {
            const lastPriceAt = new Date(bookmaker.last_price_at);
            return {
              bookmaker: bookmaker.bookmaker,
              lastPriceAt: lastPriceAt.toISOString(),
              stale: bookmakerPricesStale(lastPriceAt, lastSuccessAt(row.platform), scrapeIntervalSeconds, now),
              frozen: bookmaker.frozen,
            };
          }),
          bookmakersTotal: row.bookmakers_total,
        },
      ];
    }),
  );
}
