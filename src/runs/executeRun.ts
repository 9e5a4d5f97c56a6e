import { context, trace, type Span } from '@opentelemetry/api';
import type { Config } from '../config.js';
import type { Platforms } from '../platforms/registry.js';
import { OBSERVED_TRIGGERS, type RunSummary, type RunTrigger } from '../shared/contract.js';
import { retryWrite, WRITE_RETRY_BUDGET_MS } from './databaseRetry.js';
import { finishRun, type FinishRunDeps } from './finishRun.js';
import { recordWithRetry } from './recordWithRetry.js';
import { stepStatuses } from '../db/tables/platformSteps.js';
import type { StepJobData, StepQueue, WorkKind } from '../queue/stepQueue.js';
import type { PlatformResult, ScrapePlatformDeps } from './scrapePlatform.js';
import { failStepInterrupted, traceCarrier, workKindOf } from './stepJob.js';
import type { StepsEnded } from './stepsEnded.js';
import type { LocalSteps } from './localSteps.js';
import { reportCoverage } from './reportCoverage.js';
import { reportOutliers } from './reportOutliers.js';

export interface ExecuteRunDeps extends FinishRunDeps, ScrapePlatformDeps {
  platforms: Pick<Platforms, 'adapters' | 'names'>;
  config: Pick<Config, 'heartbeatIntervalMs' | 'staleAfterMs' | 'qualityChecks' | 'qualityMaxOverround' | 'qualityOutlierThreshold' | 'qualityFrozenScrapes' | 'qualityCoverageFraction' | 'qualityCoverageWindow'>;
  /** Where the run's steps go: one job each, taken by whichever replica has a slot (queue/stepQueue.ts). */
  stepQueue: Pick<StepQueue, 'send' | 'handBack' | 'jobEnded'>;
  /** Wakes the runner when one of its steps ends, wherever it ran. */
  stepsEnded: StepsEnded;
  /** The runs this replica owns, by id: their span (stepJob.ts puts a local step's events on it). */
  runSpans: Map<number, Span>;
  /** The steps scraping on this replica (a stopped runner stops its own). */
  steps: LocalSteps;
}

export interface RunToExecute {
  id: number;
  trigger: RunTrigger;
  platforms: string[];
  /** A run taken over from a dead replica (takeOverRun.ts): what its steps were when this replica took it. */
  takenOver?: TakenOverSteps;
}

export interface TakenOverSteps {
  /** The run was already running (its `run.started` is recorded): it is not started again. */
  running: boolean;
  /** Steps that had ended, with how; the others are scraped here. */
  ended: ReadonlyMap<string, PlatformResult['outcome']>;
}

/**
 * The runner, inside the run's span: pending -> running, every platform handed out as a step job at once
 * (any replica with a free slot takes one: stepJob.ts), heartbeat while alive, the steps' ends followed in
 * the database, and the final status by compare-and-set.
 * An observed run is watched by the connection guard for its whole duration: the moment it has had no
 * watcher on any replica for the grace period while a platform is still pending or running, the run ends
 * `connection_failed` (finishRun stops the platforms not finished, which keep the odds they read; their
 * steps end `failed`, or `skipped` if never started). A run whose platforms all finished first keeps the
 * runner's verdict. A runner that loses the database past its writes' retries ends its run
 * `failed/interrupted` itself as soon as the database answers again. Resolves to the run as it ended,
 * whoever ended it.
 */
export async function executeRun(deps: ExecuteRunDeps, run: RunToExecute, controller: AbortController): Promise<RunSummary | null> {
  const log = deps.logger.child({ run_id: run.id, trigger: run.trigger });
  const observed = (OBSERVED_TRIGGERS as readonly string[]).includes(run.trigger);
  let heartbeat: NodeJS.Timeout | undefined;
  /** The connection guard's end of the run, once it found the run lost. */
  const lost: { ending?: Promise<unknown> } = {};
  try {
    if (!run.takenOver?.running) {
      if (!(await deps.transitions.markRunning(run.id))) {
        log.info('run ended before it could start');
        return await deps.reads.summaryOf(run.id);
      }
      const started = await retryWrite(() => deps.reads.summaryOf(run.id));
      await recordWithRetry(deps, run.id, 'run.started', { runId: run.id, platformsDone: 0, platformsTotal: run.platforms.length, run: started! });
      log.info({ platforms: run.platforms }, 'run started');
    }

    heartbeat = startHeartbeat(deps, run.id, controller);
    // The runner stopped (its run ended elsewhere, this replica let go of it, the database was lost): so do its steps scraping here.
    controller.signal.addEventListener('abort', () => deps.steps.abortRun(run.id, controller.signal.reason instanceof Error ? controller.signal.reason : new Error(String(controller.signal.reason))), { once: true });
    /** Platforms whose step has ended (or had ended before this replica took the run over), with how it ended. */
    const ended = new Map<string, PlatformResult['outcome']>(run.takenOver?.ended);
    const runSpan = trace.getActiveSpan();
    if (runSpan) deps.runSpans.set(run.id, runSpan);
    if (observed) {
      const runContext = context.active();
      deps.guard.track(run.id, {
        onLost: (unwatchedMs) => {
          // Every platform finished before the grace ran out: the runner's own verdict stands.
          if (controller.signal.aborted || ended.size === run.platforms.length) return;
          lost.ending = context.with(runContext, () => endLost(deps, run, runSpan, controller, ended, unwatchedMs));
          lost.ending.catch(() => undefined); // awaited by the runner below
        },
        onChange: (watched, unwatchedMs) => {
          if (watched) {
            log.info({ unwatched_ms: unwatchedMs }, 'observed run has a watcher: connection grace cancelled');
            runSpan?.addEvent('connection.watched', { unwatched_ms: unwatchedMs });
          } else {
            log.info({ grace_ms: deps.guard.graceMs }, 'observed run has no watcher on any replica: connection grace started');
            runSpan?.addEvent('connection.unwatched', { grace_ms: deps.guard.graceMs });
          }
        },
      });
      // Its starting state: a run nobody watches yet has its grace running from now (no change is logged for it).
      log.info({ watched: deps.guard.isWatched(run.id), grace_ms: deps.guard.graceMs }, 'observed run tracked by the connection guard');
    }

    await sendSteps(deps, run.id, run.platforms.filter((name) => !ended.has(name)));
    await awaitSteps(deps, run, ended, controller.signal, lost);
    deps.guard.untrack(run.id);
    // The connection guard ended the run (or lost the race to another actor): its transition stands.
    if (lost.ending) {
      await lost.ending;
      return await deps.reads.summaryOf(run.id);
    }
    // Every step's outcome, those ended before a take-over included, in the run's platform order.
    const results = run.platforms.filter((name) => ended.has(name)).map((platform): PlatformResult => ({ platform, outcome: ended.get(platform)!, eventsFound: 0 }));

    // Ended elsewhere (watchdog, shutdown, another process): their transition won.
    if (controller.signal.aborted) return await deps.reads.summaryOf(run.id);
    const finished = await finishByResults(deps, run, results);
    // Right after the run (its status is written and published): outliers and coverage need every platform's prices.
    if (deps.config.qualityChecks) {
      const completed = results.filter((result) => result.outcome === 'completed').map((result) => result.platform);
      await reportOutliers(deps, run.id, completed);
      await reportCoverage(deps, run.id, completed);
    }
    return finished ?? (await deps.reads.summaryOf(run.id));
  } catch (error) {
    if (!controller.signal.aborted) controller.abort(new Error('the runner lost the database'));
    await lost.ending?.catch(() => undefined);
    return await endAfterDatabaseLoss(deps, run.id, error);
  } finally {
    clearInterval(heartbeat);
    deps.guard.untrack(run.id);
    deps.runSpans.delete(run.id);
  }
}

/** One job per step, per kind of work, in the run's trace. A step already queued (a run taken over) is not queued twice. */
async function sendSteps(deps: ExecuteRunDeps, runId: number, platforms: string[]): Promise<void> {
  const trace = traceCarrier();
  const byKind = new Map<WorkKind, StepJobData[]>();
  for (const platform of platforms) {
    const adapter = deps.platforms.adapters.get(platform);
    const kind = adapter ? workKindOf(adapter.kind) : 'http';
    byKind.set(kind, [...(byKind.get(kind) ?? []), { runId, platform, trace }]);
  }
  for (const [kind, jobs] of byKind) await retryWrite(() => deps.stepQueue.send(kind, jobs));
}

/** How often the runner reads its steps when no step end woke it (a step ended on a replica whose event it missed). */
const STEPS_POLL_MS = 1_000;

const OUTCOME_OF: Record<string, PlatformResult['outcome'] | undefined> = { completed: 'completed', failed: 'failed', skipped: 'not_started' };

/**
 * Until every step of the run has ended (in the database: wherever it ran, whoever ended it), the run ended
 * elsewhere (`signal`), or the connection guard ended it: reads the steps each time one ends (stepsEnded)
 * and every STEPS_POLL_MS. `ended` is kept up to date for the connection guard.
 */
async function awaitSteps(deps: ExecuteRunDeps, run: RunToExecute, ended: Map<string, PlatformResult['outcome']>, signal: AbortSignal, lost: { ending?: Promise<unknown> }): Promise<void> {
  // A run taken over is checked at once (a dead owner is where a step and its job could part), then every 10 s.
  let checkedJobsAt = run.takenOver ? Number.NEGATIVE_INFINITY : performance.now();
  for (;;) {
    const woken = deps.stepsEnded.next(run.id, STEPS_POLL_MS, signal);
    for (const step of await retryWrite(() => stepStatuses(deps.orm, run.id))) {
      const outcome = OUTCOME_OF[step.status];
      if (outcome) ended.set(step.platform, outcome);
    }
    if (ended.size >= run.platforms.length || signal.aborted || lost.ending) {
      woken.cancel();
      return;
    }
    if (performance.now() - checkedJobsAt >= ORPHANED_STEPS_CHECK_MS) {
      checkedJobsAt = performance.now();
      await failOrphanedSteps(deps, run, ended);
    }
    await woken.promise;
  }
}

/** How often the runner checks that each unfinished step still has a job that will be delivered. */
const ORPHANED_STEPS_CHECK_MS = 10_000;

/**
 * A step unfinished whose job has ended for good (or is gone) would hold its run, and every run after it,
 * until the watchdog: it fails `interrupted` now. A backstop: a job ends only once its step has (or it
 * failed its last delivery), so this should find nothing.
 */
async function failOrphanedSteps(deps: ExecuteRunDeps, run: RunToExecute, ended: ReadonlyMap<string, PlatformResult['outcome']>): Promise<void> {
  for (const platform of run.platforms.filter((name) => !ended.has(name))) {
    const adapter = deps.platforms.adapters.get(platform);
    if (!(await retryWrite(() => deps.stepQueue.jobEnded(adapter ? workKindOf(adapter.kind) : 'http', run.id, platform)))) continue;
    if (await failStepInterrupted(deps, run.id, platform, 'interrupted: its job ended without it (no replica will scrape it)')) {
      deps.logger.error({ run_id: run.id, platform }, 'step failed interrupted: its job ended without it');
    }
  }
}

/**
 * The connection guard found the run without a watcher for the grace period while platforms were still
 * pending or running: the run ends `connection_failed` now. finishRun's compare-and-set stops the steps
 * not finished (running -> failed "stopped: the run lost its watchers", pending -> skipped) and aborts
 * the runner's signal, so the scrapes in flight stop and write the odds they read; it logs, counts and
 * publishes `run.finished`. A database lost meanwhile stops the platforms too and goes up to the runner.
 */
async function endLost(
  deps: ExecuteRunDeps,
  run: RunToExecute,
  runSpan: Span | undefined,
  controller: AbortController,
  ended: ReadonlyMap<string, PlatformResult['outcome']>,
  unwatchedMs: number,
) {
  const done = run.platforms.filter((name) => ended.has(name) && ended.get(name) !== 'not_started');
  const notDone = run.platforms.filter((name) => !done.includes(name));
  runSpan?.addEvent('connection.lost', { unwatched_ms: unwatchedMs, platforms_done: done.length, platforms_not_done: notDone.length });
  try {
    return await finishRun(deps, run.id, 'connection_failed', 'connection_lost', {
      actor: 'connection_guard',
      owner: deps.ownerId,
      details: { platforms_done: done, platforms_not_done: notDone, unwatched_ms: unwatchedMs },
    });
  } catch (error) {
    if (!controller.signal.aborted) controller.abort(new Error('the runner lost the database'));
    throw error;
  }
}

/**
 * The runner's writes failed past their retries (the database is down or cut the connection mid-write):
 * the platforms are stopped, and the run is ended `failed/interrupted` by the runner itself as soon as
 * the database answers, instead of staying `running` until the watchdog. Retried until STALE_AFTER_MS
 * has passed; after that the watchdog (or start-up recovery) is the backstop.
 */
async function endAfterDatabaseLoss(deps: ExecuteRunDeps, runId: number, error: unknown): Promise<RunSummary | null> {
  const log = deps.logger.child({ run_id: runId, actor: 'runner' });
  log.error({ err: error }, 'runner lost the database; the run ends as interrupted once the database answers');
  trace.getActiveSpan()?.addEvent('run.database_lost', { error: error instanceof Error ? error.message.slice(0, 200) : String(error) });
  const budgetMs = Math.max(WRITE_RETRY_BUDGET_MS, deps.config.staleAfterMs);
  const ended = await retryWrite(
    () => finishRun(deps, runId, 'failed', 'interrupted', { actor: 'runner', owner: deps.ownerId, from: ['pending', 'running'], details: { cause: 'database_unreachable' } }),
    { budgetMs, anyError: true },
  );
  return ended ?? (await retryWrite(() => deps.reads.summaryOf(runId), { budgetMs, anyError: true }));
}

/** The runner's own verdict; null when another actor ended the run first (the runner lost). */
function finishByResults(deps: ExecuteRunDeps, run: RunToExecute, results: PlatformResult[]) {
  const succeeded = results.filter((result) => result.outcome === 'completed').map((result) => result.platform);
  const failed = results.filter((result) => result.outcome !== 'completed' && result.outcome !== 'not_started').map((result) => result.platform);
  const actor = { actor: 'runner', owner: deps.ownerId };
  if (failed.length === 0) return finishRun(deps, run.id, 'completed', null, actor);
  const details = { platforms_failed: failed };
  if (succeeded.length === 0) return finishRun(deps, run.id, 'failed', 'all_platforms_failed', { ...actor, details });
  return finishRun(deps, run.id, 'partial', null, { ...actor, details });
}

/** Advances heartbeat_at while the run lives; a heartbeat that finds the run ended elsewhere stops the runner. */
function startHeartbeat(deps: ExecuteRunDeps, runId: number, controller: AbortController): NodeJS.Timeout {
  const timer = setInterval(() => {
    deps.transitions
      .heartbeat(runId, deps.ownerId)
      .then((alive) => {
        if (!alive && !controller.signal.aborted) {
          deps.logger.warn({ run_id: runId }, 'run was ended or taken over elsewhere; stopping its runner');
          controller.abort(new Error('run ended or taken over elsewhere'));
        }
      })
      .catch((error: unknown) => deps.logger.error({ run_id: runId, err: error }, 'heartbeat failed'));
  }, deps.config.heartbeatIntervalMs);
  timer.unref();
  return timer;
}
