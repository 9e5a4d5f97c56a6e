import { failUnknownSteps, takeOverRunWithSteps } from '../db/tables/runs.js';
import type { StepStatus } from '../shared/contract.js';
import { executeRun, type ExecuteRunDeps } from './executeRun.js';
import type { PlatformResult } from './scrapePlatform.js';
import { withRunSpan } from './runSpan.js';

/**
 * Attempts of a step: the first, and one more by the replica that takes its run over when the replica
 * scraping it dies. A step whose replica died at every attempt fails `interrupted`: a platform that kills the
 * process scraping it (a page that exhausts its memory) would otherwise take down replica after replica.
 */
export const STEP_ATTEMPTS = 2;

/** The runner's: it runs the rest of the run (its orm and ownerId are the scrapes'). */
export type TakeOverDeps = ExecuteRunDeps;

const OUTCOME_OF: Partial<Record<StepStatus, PlatformResult['outcome']>> = { completed: 'completed', failed: 'failed', skipped: 'not_started' };

/**
 * This replica takes over an active run whose owner is gone (its liveness lock is free), by compare-and-set
 * on the run's owner: the steps the dead owner had ended stay as they are, those it was scraping are scraped
 * here again as their next attempt (or fail `interrupted` after STEP_ATTEMPTS), the pending ones are scraped
 * here, and the run ends here as if it had started here, in the trace it began in. False when another
 * replica took it first, it ended, or its last sign of life is older than `staleAfterMs` (the caller fails it).
 * Resolves once the run is taken over; its runner goes on in the background, registered in inFlight.
 */
export async function takeOverRun(deps: TakeOverDeps, runId: number, deadOwner: string | null): Promise<boolean> {
  const run = await takeOverRunWithSteps(deps.orm, runId, deadOwner, deps.ownerId, STEP_ATTEMPTS, deps.config.staleAfterMs);
  if (!run) return false;
  const unknown = run.steps.filter((step) => step.status === 'pending' && !deps.platforms.adapters.has(step.platform)).map((step) => step.platform);
  if (unknown.length > 0) await failUnknownSteps(deps.orm, runId, deps.ownerId, unknown);
  const ended = new Map<string, PlatformResult['outcome']>();
  for (const step of run.steps) {
    const outcome = unknown.includes(step.platform) ? 'failed' : OUTCOME_OF[step.status];
    if (outcome) ended.set(step.platform, outcome);
  }
  const again = run.steps.filter((step) => step.status === 'pending' && step.attempt > 1 && !unknown.includes(step.platform));
  const exhausted = run.steps.filter((step) => step.reason === 'interrupted');
  deps.metrics.runTakenOver();
  for (const step of again) deps.metrics.stepRetried(deps.platforms.adapters.get(step.platform)!.kind);
  deps.logger.warn(
    { run_id: runId, dead_owner_id: deadOwner, steps_scraped_again: again.map((step) => step.platform), steps_ended: [...ended.keys()], steps_not_configured_here: unknown, status: run.status },
    'run taken over: its unfinished steps are scraped here',
  );
  if (exhausted.length > 0) deps.logger.warn({ run_id: runId, platforms: exhausted.map((step) => step.platform), attempts: STEP_ATTEMPTS }, 'steps failed interrupted: their replica died at each attempt');

  const controller = new AbortController();
  const attempts = new Map(run.steps.map((step) => [step.platform, step.attempt]));
  const done: Promise<void> = withRunSpan(
    { trigger: run.trigger, platformCount: run.platforms.length, ...(run.traceId ? { takenOver: { traceId: run.traceId, from: deadOwner } } : {}) },
    async (span) => {
      span.setAttribute('oddswatch.run.id', runId);
      return executeRun(deps, { id: runId, trigger: run.trigger, platforms: run.platforms, takenOver: { running: run.status === 'running', ended, attempts } }, controller);
    },
  ).catch((error: unknown) => deps.logger.error({ run_id: runId, err: error }, 'runner crashed'));
  deps.inFlight.add(runId, controller, done);
  return true;
}
