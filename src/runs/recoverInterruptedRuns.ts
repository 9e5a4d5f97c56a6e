import type { Orm } from '../db/database.js';
import { selectActiveRunsNotOwnedBy } from '../db/tables/runs.js';
import { finishRun } from './finishRun.js';
import { takeOverRun, type TakeOverDeps } from './takeOverRun.js';

export type RecoverDeps = TakeOverDeps;

/** Whether a run's owner is alive: replicas/ownerLiveness.ts answers it, composition/runs.ts hands it in (runs/ and replicas/ do not import each other). */
export interface OwnerCheck {
  isAlive(ownerId: string): Promise<boolean>;
}

/**
 * Runs left active by a process that is gone are taken over by this one (takeOverRun.ts: their unfinished
 * steps are scraped here and the run ends as usual); one too old to take over (no sign of life for
 * STALE_AFTER_MS) is failed with failure_reason `interrupted` (which publishes run.finished to every
 * replica's watchers). Called at start-up, before the scheduler starts, and every few seconds on the leader
 * (`periodic`: quiet about live owners), so a dead replica's run goes on within seconds. A run whose owner
 * still holds its liveness lock (a live replica) is left alone.
 */
export async function recoverInterruptedRuns(deps: RecoverDeps, liveness: OwnerCheck, periodic = false): Promise<number> {
  const byOwner = await activeRunsByOwner(deps.orm, deps.ownerId);
  let recovered = 0;
  for (const [owner, runIds] of byOwner) {
    if (owner !== null && (await liveness.isAlive(owner))) {
      deps.logger[periodic ? 'debug' : 'info']({ owner_id: owner, run_ids: runIds }, 'active runs belong to a live process; not recovering them');
      continue;
    }
    for (const runId of runIds) {
      if (await takeOverRun(deps, runId, owner)) continue;
      // Too old to take over, or another replica took it first (then it has another owner: this changes nothing).
      const run = await finishRun(deps, runId, 'failed', 'interrupted', {
        actor: 'recovery',
        from: ['pending', 'running'],
        ...(owner !== null ? { owner } : {}),
        details: { dead_owner_id: owner },
      });
      if (run) recovered += 1;
    }
  }
  if (recovered > 0) {
    deps.metrics.runsRecovered(recovered);
    deps.logger.warn({ recovered }, 'failed runs interrupted by a dead process');
  }
  return recovered;
}

/** Active runs owned by other processes, grouped by owner. */
async function activeRunsByOwner(orm: Orm, exceptOwner: string): Promise<Map<string | null, number[]>> {
  const byOwner = new Map<string | null, number[]>();
  for (const run of await selectActiveRunsNotOwnedBy(orm, exceptOwner)) byOwner.set(run.ownerId, [...(byOwner.get(run.ownerId) ?? []), run.id]);
  return byOwner;
}
