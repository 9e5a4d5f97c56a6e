import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import { selectRunConsensus } from '../db/tables/odds.js';
import { recordRunOutliers } from '../db/tables/platformSteps.js';
import { outliersByPlatform } from '../quality/outliers.js';
import type { Metrics } from '../telemetry/metrics.js';
import { recordFailure, tracer } from '../telemetry/tracing.js';

export interface ReportOutliersDeps {
  orm: Orm;
  metrics: Metrics;
  logger: Logger;
  config: Pick<Config, 'qualityOutlierThreshold'>;
}

/**
 * Right after a run has finished (off its wall time: the steps and the run's status are already written),
 * its prices are judged against every other bookmaker's current price of the same selection, in one read
 * and in memory (quality/outliers.ts: the rule GET /api/odds marks), counted per platform and written on
 * each completed step (`outlierPrices`, after the run's `run.finished`). Judged per
 * step in SQL it doubled a 60-platform run (bench:quality); once per run it is one statement. A failed
 * read only leaves them uncounted.
 */
export async function reportOutliers(deps: ReportOutliersDeps, runId: number, platforms: readonly string[]): Promise<void> {
  await tracer.startActiveSpan('quality.outliers', { attributes: { 'oddswatch.run.id': runId } }, async (span) => {
    const log = deps.logger.child({ run_id: runId });
    try {
      const rows = await selectRunConsensus(deps.orm, runId);
      const counts = outliersByPlatform(
        rows.map((row) => ({ selection: `${row.sporting_event_id}\u0000${row.market}\u0000${row.selection}`, platform: row.platform, price: row.price, ofThisRun: Number(row.run_id) === runId })),
        deps.config.qualityOutlierThreshold,
      );
      let total = 0;
      const counted: Record<string, number> = {};
      for (const platform of platforms) {
        const count = counts.get(platform) ?? 0;
        deps.metrics.outlierPrices(platform, count);
        counted[platform] = count;
        total += count;
        if (count > 0) log.warn({ platform, outlier_prices: count, threshold: deps.config.qualityOutlierThreshold }, 'platform priced selections far from the other bookmakers');
      }
      await recordRunOutliers(deps.orm, runId, counted);
      span.setAttributes({ 'oddswatch.run.outlier_prices': total, 'oddswatch.run.prices_compared': rows.length });
    } catch (error) {
      recordFailure(span, error, 'could not count outlier prices');
      log.warn({ err: error }, 'could not count outlier prices');
    } finally {
      span.end();
    }
  });
}
