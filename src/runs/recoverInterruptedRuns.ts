import type { RunEngine } from './engine.js';
import { finishRun } from './finishRun.js';
import type { OwnerLiveness } from './ownerLiveness.js';

/**
 * Start-up recovery, before the scheduler starts: runs left active by a process that is gone are failed
 * with failure_reason `interrupted`. A run whose owner still holds its liveness lock (another live
 * replica) is left alone.
 */
export async function recoverInterruptedRuns(engine: RunEngine, liveness: OwnerLiveness): Promise<number> {
  const byOwner = await engine.runs.activeRunsByOwner(engine.ownerId);
  let recovered = 0;
  for (const [owner, runIds] of byOwner) {
    if (owner !== null && (await liveness.isAlive(owner))) {
      engine.logger.info({ owner_id: owner, run_ids: runIds }, 'active runs belong to a live process; not recovering them');
      continue;
    }
    for (const runId of runIds) {
      const summary = await finishRun(engine, runId, 'failed', 'interrupted', {
        actor: 'recovery',
        from: ['pending', 'running'],
        details: { dead_owner_id: owner },
      });
      if (summary) recovered += 1;
    }
  }
  if (recovered > 0) {
    engine.metrics.runsRecovered(recovered);
    engine.logger.warn({ recovered }, 'failed runs interrupted by a dead process');
  }
  return recovered;
}
