import type { RunEngine } from './engine.js';
import { finishRun } from './finishRun.js';

/**
 * The watchdog (job detect_stale_runs): fails active runs whose heartbeat is older than STALE_AFTER_MS
 * (a run that never wrote one is judged by its start, after a grace of two heartbeat intervals), that
 * run longer than MAX_RUN_DURATION_MS, or that never left `pending`. Terminal runs are never touched.
 */
export async function detectStaleRuns(engine: RunEngine): Promise<number> {
  const { staleAfterMs, heartbeatIntervalMs, maxRunDurationMs } = engine.config;
  const candidates = await engine.runs.findStale(staleAfterMs, 2 * heartbeatIntervalMs, maxRunDurationMs);
  let failed = 0;
  for (const candidate of candidates) {
    const summary = await finishRun(engine, candidate.id, 'failed', 'stale', {
      actor: 'watchdog',
      from: [candidate.status],
      details: { stale_because: candidate.why, stale_after_ms: staleAfterMs, max_run_duration_ms: maxRunDurationMs },
    });
    if (summary) failed += 1;
  }
  return failed;
}
