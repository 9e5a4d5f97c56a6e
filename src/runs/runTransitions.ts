import type { Orm } from '../db/database.js';
import { updateStepProgress } from '../db/tables/platformSteps.js';
import { beatRunHeartbeat, finishRunWithSteps, insertRunWithSteps, markRunRunning, type NewRun } from '../db/tables/runs.js';
import type { MatchedBatch } from '../db/tables/odds.js';
import type { FailureReason, RunStatus, TerminalRunStatus } from '../shared/contract.js';
import { retryWrite, type RetryOptions } from './databaseRetry.js';

/** The error of a step that was still running when its run ended. */
export function stoppedStepMessage(status: TerminalRunStatus, reason: FailureReason | null): string {
  if (status === 'cancelled') return 'stopped: the run was cancelled';
  if (reason === 'connection_lost') return 'stopped: the run lost its watchers';
  return reason ? `run ended (${reason}) before this platform finished` : 'run ended before this platform finished';
}

/**
 * The writes of the run engine. Transitions are compare-and-set (`... WHERE status = ...`) and report
 * whether they won, because the runner, the watchdog, the connection guard, shutdown and start-up
 * recovery race to end the same run. Each is one statement (several writes are data-modifying CTEs of
 * one statement, atomic as a transaction would be, one round trip instead of four): those of the
 * tables' modules (db/tables/runs.ts, platformSteps.ts); the step guards of progress events are in
 * events/eventGuard.ts (`step.started`, `step.finished`).
 */
export class RunTransitions {
  /**
   * Writes that fail because the database is unreachable are repeated (databaseRetry.ts) so a short outage
   * does not kill the run; `retry` carries the budget and the log hook.
   */
  constructor(
    private readonly orm: Orm,
    private readonly retry: RetryOptions = {},
  ) {}

  /**
   * Inserts a pending run with a pending step per platform, in one statement. Throws the unique violation
   * when a run is active. Not retried: the caller answers the request, and a 503 beats a long wait.
   */
  insertRun(run: NewRun): Promise<number> {
    return insertRunWithSteps(this.orm, run);
  }

  /** pending -> running; false when the run was already ended by someone else. */
  async markRunning(id: number): Promise<boolean> {
    return (await retryWrite(() => markRunRunning(this.orm, id), this.retry)) === 1;
  }

  /** Advances the heartbeat; false when the run is no longer running (ended elsewhere) or `owner`'s (taken over). Not retried: the next beat is the retry. */
  async heartbeat(id: number, owner: string): Promise<boolean> {
    return (await beatRunHeartbeat(this.orm, id, owner)) === 1;
  }

  /**
   * Ends an active run by compare-and-set, in one statement; the steps still pending become `skipped` and
   * those still running `failed` (their error: `stoppedStepMessage`). Returns false when the run was not in one of `from` (another actor won),
   * or, with `owner`, when another replica owns it now (it took the run over).
   */
  finish(id: number, status: TerminalRunStatus, reason: FailureReason | null, from: RunStatus[] = ['running'], owner?: string): Promise<boolean> {
    const message = stoppedStepMessage(status, reason);
    return retryWrite(() => finishRunWithSteps(this.orm, id, status, reason, from, message, owner), this.retry);
  }

  /** Writes a running step's collected odds and its count of sporting events so far, in one statement. */
  async stepProgress(runId: number, platform: string, eventsFound: number, odds: MatchedBatch, replica: string, attempt: number): Promise<void> {
    await retryWrite(() => updateStepProgress(this.orm, runId, platform, eventsFound, odds, replica, attempt), this.retry);
  }
}
