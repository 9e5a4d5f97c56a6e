import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import { recordRunCoverage, selectRunCoverage } from '../db/tables/bookmakerQuality.js';
import { judgeCoverage } from '../quality/coverage.js';
import type { Metrics } from '../telemetry/metrics.js';
import { recordFailure, tracer } from '../telemetry/tracing.js';

export interface ReportCoverageDeps {
  orm: Orm;
  metrics: Metrics;
  logger: Logger;
  config: Pick<Config, 'qualityCoverageFraction' | 'qualityCoverageWindow'>;
}

/**
 * Right after a run has finished, each bookmaker its completed steps priced is judged for coverage
 * (quality/coverage.ts) in one read and one write for the whole run: judged per step, the matched sporting
 * events were counted once per platform, 60 times in a 60-platform run (bench:quality). The steps'
 * `coverageDrops` are written then, after the run's `run.finished`; a failed read only leaves them unjudged.
 */
export async function reportCoverage(deps: ReportCoverageDeps, runId: number, platforms: readonly string[]): Promise<void> {
  if (platforms.length === 0) return;
  await tracer.startActiveSpan('quality.coverage', { attributes: { 'oddswatch.run.id': runId } }, async (span) => {
    const log = deps.logger.child({ run_id: runId });
    try {
      const { current, previous } = await selectRunCoverage(deps.orm, runId, platforms, deps.config.qualityCoverageWindow);
      const judged: Record<string, { coverage: Record<string, number>; drops: string[] }> = {};
      let drops = 0;
      for (const platform of platforms) {
        const shares = new Map(current.filter((row) => row.platform === platform).map((row) => [row.bookmaker, row.share]));
        const verdicts = judgeCoverage(shares, previous.filter((row) => row.platform === platform).map((row) => row.coverage), deps.config.qualityCoverageFraction);
        const dropped = verdicts.filter((verdict) => verdict.dropped);
        judged[platform] = { coverage: Object.fromEntries(verdicts.map((verdict) => [verdict.bookmaker, Math.round(verdict.share * 10_000) / 10_000])), drops: dropped.map((verdict) => verdict.bookmaker) };
        deps.metrics.coverageJudged(platform, shares, dropped.length);
        drops += dropped.length;
        if (dropped.length > 0) {
          log.warn({ platform, coverage: dropped.map(({ bookmaker, share, usual }) => ({ bookmaker, share, usual })), fraction: deps.config.qualityCoverageFraction }, 'bookmaker coverage drop: far fewer matched sporting events priced than usual');
        }
      }
      await recordRunCoverage(deps.orm, runId, judged);
      span.setAttributes({ 'oddswatch.run.coverage_drops': drops });
    } catch (error) {
      recordFailure(span, error, 'could not judge coverage');
      log.warn({ err: error }, 'could not judge coverage');
    } finally {
      span.end();
    }
  });
}
