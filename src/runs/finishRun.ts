import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { FailureReason, RunDetail, RunStatus, TerminalRunStatus } from '../shared/contract.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { ConnectionGuard } from './connectionGuard.js';
import type { EventLog } from '../events/index.js';
import type { InFlightRuns } from './inFlightRuns.js';
import type { RunReadModel } from './runReadModel.js';
import { retryWrite } from './databaseRetry.js';
import { recordWithRetry } from './recordWithRetry.js';
import type { RunTransitions } from './runTransitions.js';

export interface FinishRunDeps {
  transitions: RunTransitions;
  reads: RunReadModel;
  events: EventLog;
  inFlight: InFlightRuns;
  guard: ConnectionGuard;
  metrics: Metrics;
  logger: Logger;
}

export interface FinishOptions {
  /** Statuses the run may be in for this transition to win (compare-and-set). */
  from?: RunStatus[];
  /** Who ends the run, for the logs: runner, watchdog, recovery, shutdown. */
  actor: string;
  /**
   * Only while this replica owns the run: what its own runner (its verdict, its connection guard, a lost
   * database) and its shutdown end. A run another replica took over (takeOverRun.ts) is that replica's to end;
   * the operator and the watchdog end any.
   */
  owner?: string;
  /** Extra log fields (platforms done/not done, unwatched time...). */
  details?: Record<string, unknown>;
}

/**
 * Ends a run in exactly one terminal status. Only the caller whose compare-and-set wins stops the
 * run's runner in this process, logs, counts and publishes `run.finished` (which closes the run's
 * streams); a loser changes nothing and says so on the active span and in the log. The run's span is
 * ended by its owner (runSpan.ts), never here.
 */
export async function finishRun(
  deps: FinishRunDeps,
  runId: number,
  status: TerminalRunStatus,
  reason: FailureReason | null,
  options: FinishOptions,
): Promise<RunDetail | null> {
  const log = deps.logger.child({ run_id: runId, actor: options.actor });
  const won = await deps.transitions.finish(runId, status, reason, options.from ?? ['running'], options.owner);
  if (!won) {
    trace.getActiveSpan()?.addEvent('run.finish_lost', { actor: options.actor, wanted_status: status });
    log.info({ wanted_status: status, failure_reason: reason }, 'run already ended elsewhere: this transition lost the race and changed nothing');
    return null;
  }
  deps.inFlight.abort(runId, `run ${runId} ended: ${status}${reason ? ` (${reason})` : ''}`);
  deps.guard.untrack(runId);

  const run = (await retryWrite(() => deps.reads.detailOf(runId)))!;
  await recordWithRetry(deps, runId, 'run.finished', {
    runId,
    platformsDone: run.platformsDone,
    platformsTotal: run.platformsTotal,
    run,
    status,
    failureReason: reason,
  });

  deps.metrics.runFinished(run.trigger, status, run.durationMs === null ? null : run.durationMs / 1000);
  if (status === 'connection_failed') deps.metrics.connectionFailed(run.trigger);
  if (reason === 'stale') deps.metrics.staleRun();

  const fields = {
    trigger: run.trigger,
    status,
    failure_reason: reason,
    duration_ms: run.durationMs,
    events_found: run.eventsFound,
    platforms_succeeded: run.platformsSucceeded,
    platforms_failed: run.platformsFailed,
    ...options.details,
  };
  const bad = status === 'connection_failed' || reason === 'stale' || reason === 'interrupted';
  log[bad ? 'warn' : 'info'](fields, `run ${status}${reason ? ` (${reason})` : ''}`);
  return run;
}
