import { SpanStatusCode } from '@opentelemetry/api';
import type { FailureReason, RunDetail, RunStatus, TerminalRunStatus } from '../shared/contract.js';
import type { RunEngine } from './engine.js';

export interface FinishOptions {
  /** Statuses the run may be in for this transition to win (compare-and-set). */
  from?: RunStatus[];
  /** Who ends the run, for the logs: runner, watchdog, recovery, shutdown. */
  actor: string;
  /** Extra log fields (platforms done/not done, unwatched time...). */
  details?: Record<string, unknown>;
}

/**
 * Ends a run in exactly one terminal status. Only the caller whose compare-and-set wins logs, counts,
 * publishes `run.finished` (which closes the run's streams) and ends the span; a loser changes nothing.
 */
export async function finishRun(
  engine: RunEngine,
  runId: number,
  status: TerminalRunStatus,
  reason: FailureReason | null,
  options: FinishOptions,
): Promise<RunDetail | null> {
  const log = engine.logger.child({ run_id: runId, actor: options.actor });
  const won = await engine.runs.finish(runId, status, reason, options.from ?? ['running']);
  const inFlight = engine.inFlight.get(runId);
  if (!won) {
    log.info({ wanted_status: status, failure_reason: reason }, 'run already ended elsewhere: this transition lost the race and changed nothing');
    return null;
  }
  inFlight?.controller.abort(new Error(`run ${runId} ended: ${status}${reason ? ` (${reason})` : ''}`));
  engine.guard.untrack(runId);

  const summary = (await engine.runs.detailOf(runId))!;
  await engine.events.record(runId, 'run.finished', {
    runId,
    platformsDone: summary.platformsDone,
    platformsTotal: summary.platformsTotal,
    run: summary,
    status,
    failureReason: reason,
  });

  const durationSeconds = summary.durationMs === null ? null : summary.durationMs / 1000;
  engine.metrics.runFinished(summary.trigger, status, durationSeconds);
  if (status === 'connection_failed') engine.metrics.connectionFailed(summary.trigger);
  if (reason === 'stale') engine.metrics.staleRun();

  if (inFlight) {
    const span = inFlight.span;
    span.setAttributes({
      'oddswatch.run.status': status,
      'oddswatch.run.events_found': summary.eventsFound,
      'oddswatch.run.platforms_succeeded': summary.platformsSucceeded,
      'oddswatch.run.platforms_failed': summary.platformsFailed,
      ...(reason ? { 'oddswatch.run.failure_reason': reason } : {}),
    });
    if (status === 'failed' || status === 'connection_failed') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${status}${reason ? `: ${reason}` : ''}` });
    }
    span.addEvent('run.finished', { status, ...(reason ? { failure_reason: reason } : {}) });
    span.end();
  }

  const fields = {
    trigger: summary.trigger,
    status,
    failure_reason: reason,
    duration_ms: summary.durationMs,
    events_found: summary.eventsFound,
    platforms_succeeded: summary.platformsSucceeded,
    platforms_failed: summary.platformsFailed,
    ...options.details,
  };
  const bad = status === 'connection_failed' || reason === 'stale' || reason === 'interrupted';
  log[bad ? 'warn' : 'info'](fields, `run ${status}${reason ? ` (${reason})` : ''}`);
  return summary;
}
