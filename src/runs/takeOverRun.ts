import { takeOverRunWithSteps } from '../db/tables/runs.js';
import type { StepStatus } from '../shared/contract.js';
import { executeRun, type ExecuteRunDeps } from './executeRun.js';
import type { PlatformResult } from './scrapePlatform.js';
import { withRunSpan } from './runSpan.js';

/** The runner's: it runs the rest of the run (its orm and ownerId are the scrapes'). */
export type TakeOverDeps = ExecuteRunDeps;

const OUTCOME_OF: Partial<Record<StepStatus, PlatformResult['outcome']>> = { completed: 'completed', failed: 'failed', skipped: 'not_started' };

/**
 * This replica takes over an active run whose owner is gone (its liveness lock is free), by compare-and-set
 * on the run's owner: it becomes the run's runner (heartbeat, connection guard, final status, in the trace the
 * run began in). Its steps are jobs and go on where they are: those the dead owner was scraping are delivered
 * again as their next attempt (recoverInterruptedRuns hands their jobs back), pending ones are taken by any
 * replica, and a step not queued yet (the owner died while handing them out) is queued now. False when
 * another replica took it first, it ended, or its last sign of life is older than `staleAfterMs` (the caller
 * fails it). Resolves once the run is taken over; its runner goes on in the background, registered in inFlight.
 */
export async function takeOverRun(deps: TakeOverDeps, runId: number, deadOwner: string | null): Promise<boolean> {
  const run = await takeOverRunWithSteps(deps.orm, runId, deadOwner, deps.ownerId, deps.config.staleAfterMs);
  if (!run) return false;
  const ended = new Map<string, PlatformResult['outcome']>();
  for (const step of run.steps) {
    const outcome = OUTCOME_OF[step.status];
    if (outcome) ended.set(step.platform, outcome);
  }
  deps.metrics.runTakenOver();
  deps.logger.warn(
    { run_id: runId, dead_owner_id: deadOwner, steps_unfinished: run.steps.filter((step) => !ended.has(step.platform)).map((step) => step.platform), steps_ended: [...ended.keys()], status: run.status },
    'run taken over: this replica now runs it; its unfinished steps go on as jobs',
  );

  const controller = new AbortController();
  const done: Promise<void> = withRunSpan(
    { trigger: run.trigger, platformCount: run.platforms.length, ...(run.traceId ? { takenOver: { traceId: run.traceId, from: deadOwner } } : {}) },
    async (span) => {
      span.setAttribute('oddswatch.run.id', runId);
      return executeRun(deps, { id: runId, trigger: run.trigger, platforms: run.platforms, takenOver: { running: run.status === 'running', ended } }, controller);
    },
  ).catch((error: unknown) => deps.logger.error({ run_id: runId, err: error }, 'runner crashed'));
  deps.inFlight.add(runId, controller, done);
  return true;
}
