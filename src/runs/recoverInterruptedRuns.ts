import type { Orm } from '../db/database.js';
import { selectActiveRunsNotOwnedBy } from '../db/tables/runs.js';
import { unfinishedSteps } from '../db/tables/platformSteps.js';
import { workKindOf } from './stepJob.js';
import { finishRun } from './finishRun.js';
import { takeOverRun, type TakeOverDeps } from './takeOverRun.js';

export type RecoverDeps = TakeOverDeps;

/** Whether a run's owner is alive: replicas/ownerLiveness.ts answers it, composition/runs.ts hands it in (runs/ and replicas/ do not import each other). */
export interface OwnerCheck {
  isAlive(ownerId: string): Promise<boolean>;
}

/**
 * Runs left active by a process that is gone are taken over by this one (takeOverRun.ts: it owns them now,
 * their steps go on as jobs and the run ends as usual), and the step jobs a dead process held are handed back
 * to the queue for their next attempt; a run too old to take over (no sign of life for
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
  await handBackDeadSteps(deps, liveness);
  return recovered;
}

/**
 * The step jobs a dead replica held (its steps still pending or running) are handed back to the queue now,
 * for their next attempt on a live replica, instead of after their heartbeat lapses.
 */
async function handBackDeadSteps(deps: RecoverDeps, liveness: OwnerCheck): Promise<void> {
  const alive = new Map<string, boolean>([[deps.ownerId, true]]);
  for (const step of await unfinishedSteps(deps.orm)) {
    if (step.replica === null) continue;
    if (!alive.has(step.replica)) alive.set(step.replica, await liveness.isAlive(step.replica));
    if (alive.get(step.replica)) continue;
    const adapter = deps.platforms.adapters.get(step.platform);
    const kinds = adapter ? [workKindOf(adapter.kind)] : (['http', 'browser'] as const);
    for (const kind of kinds) {
      if (await deps.stepQueue.handBack(kind, Number(step.run_id), step.platform, step.attempt)) {
        deps.logger.warn({ run_id: Number(step.run_id), platform: step.platform, dead_replica: step.replica }, 'step job handed back: the replica holding it is gone');
      }
    }
  }
}

/** Active runs owned by other processes, grouped by owner. */
async function activeRunsByOwner(orm: Orm, exceptOwner: string): Promise<Map<string | null, number[]>> {
  const byOwner = new Map<string | null, number[]>();
  for (const run of await selectActiveRunsNotOwnedBy(orm, exceptOwner)) byOwner.set(run.ownerId, [...(byOwner.get(run.ownerId) ?? []), run.id]);
  return byOwner;
}
