import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import { selectStaleRuns } from '../db/tables/runs.js';
import { finishRun, type FinishRunDeps } from './finishRun.js';

export interface DetectStaleRunsDeps extends FinishRunDeps {
  orm: Orm;
  config: Pick<Config, 'staleAfterMs' | 'heartbeatIntervalMs' | 'maxRunDurationMs'>;
}

/**
 * The watchdog (job detect_stale_runs): fails active runs whose heartbeat is older than STALE_AFTER_MS
 * (a run that never wrote one is judged by its start, after a grace of two heartbeat intervals), that
 * run longer than MAX_RUN_DURATION_MS, or that never left `pending`. Terminal runs are never touched.
 */
export async function detectStaleRuns(deps: DetectStaleRunsDeps): Promise<number> {
  const { staleAfterMs, heartbeatIntervalMs, maxRunDurationMs } = deps.config;
  const candidates = await selectStaleRuns(deps.orm, { staleAfterMs, neverBeatGraceMs: 2 * heartbeatIntervalMs, maxRunDurationMs });
  let failed = 0;
  for (const candidate of candidates) {
    const run = await finishRun(deps, candidate.id, 'failed', 'stale', {
      actor: 'watchdog',
      from: [candidate.status],
      details: { stale_because: candidate.why, stale_after_ms: staleAfterMs, max_run_duration_ms: maxRunDurationMs },
    });
    if (run) failed += 1;
  }
  return failed;
}
