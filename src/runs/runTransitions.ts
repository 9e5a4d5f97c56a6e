import type { Orm } from '../db/database.js';
import { oddsUpsertCte } from '../db/tables/odds.js';
import { updateStepProgress } from '../db/tables/platformSteps.js';
import { beatRunHeartbeat, finishRunWithSteps, insertRunWithSteps, markRunRunning, type NewRun } from '../db/tables/runs.js';
import type { ScrapedSelection } from '../platforms/adapter.js';
import type { FailureReason, RunStatus, TerminalRunStatus } from '../shared/contract.js';
import { retryWrite, type RetryOptions } from './databaseRetry.js';
import type { VolumeCriteria } from './volumeDrop.js';
import type { EventGuard } from '../events/eventPublisher.js';

/** The error of a step that was still running when its run ended. */
export function stoppedStepMessage(reason: FailureReason | null): string {
  if (reason === 'connection_lost') return 'stopped: the run lost its watchers';
  return reason ? `run ended (${reason}) before this platform finished` : 'run ended before this platform finished';
}

/**
 * The writes of the run engine. Transitions are compare-and-set (`... WHERE status = ...`) and report
 * whether they won, because the runner, the watchdog, the connection guard, shutdown and start-up
 * recovery race to end the same run. Each is one statement (several writes are data-modifying CTEs of
 * one statement, atomic as a transaction would be, one round trip instead of four): those of the
 * tables' modules (db/tables/runs.ts, platformSteps.ts), and here the step guards of progress events.
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

  /** Advances the heartbeat; false when the run is no longer running (ended elsewhere). Not retried: the next beat is the retry. */
  async heartbeat(id: number): Promise<boolean> {
    return (await beatRunHeartbeat(this.orm, id)) === 1;
  }

  /**
   * Ends an active run by compare-and-set, in one statement; the steps still pending become `skipped` and
   * those still running `failed` (their error: `stoppedStepMessage`). Returns false when the run was not in one of `from` (another actor won).
   */
  finish(id: number, status: TerminalRunStatus, reason: FailureReason | null, from: RunStatus[] = ['running']): Promise<boolean> {
    const message = stoppedStepMessage(reason);
    return retryWrite(() => finishRunWithSteps(this.orm, id, status, reason, from, message), this.retry);
  }

  /**
   * A step pending -> running, as the guard of its `platform.started` event (EventLog.recordIf): one
   * statement takes the events lock, starts the step and records the event; no event when the run
   * already ended the step.
   */
  stepStarted(runId: number, platform: string): EventGuard {
    return {
      ctes: `guard as (
               update platform_steps set status = 'running', started_at = now()
               where run_id = ? and platform = ? and status = 'pending' and exists (select 1 from lock) returning 1
             )`,
      params: [runId, platform],
    };
  }

  /** Writes a running step's collected odds and its count of sporting events so far, in one statement. */
  async stepProgress(runId: number, platform: string, eventsFound: number, odds: ScrapedSelection[]): Promise<void> {
    await retryWrite(() => updateStepProgress(this.orm, runId, platform, eventsFound, odds), this.retry);
  }

  /**
   * A step running -> completed/failed, as the guard of its `platform.completed`/`platform.failed` event
   * (EventLog.recordIf): one statement writes the step's last odds, ends the step, records the event and
   * notifies; no event when the run already ended the step (connection guard, watchdog, shutdown). The
   * odds are written even then, and such a step (`failed` by its run) keeps the count of sporting events
   * whose odds were stored (`kept`: disjoint from `guard`, which only matches a running step). A completed step is also judged for a volume drop when
   * `judge` is given: the median of the platform's previous successful scrapes (the (platform,
   * finished_at) index, newest first) is read from the statement's snapshot, stored on the step (see
   * volumeDrop.ts) and merged into the event as `volumeDrop` and `expectedEvents`.
   * The events lock is held for the whole statement, the last odds batch included (at most 2,000 rows, a
   * few ms; bench:engine's 200-platform run was no slower than with the odds in a statement of their own).
   * No deadlock: only this platform's scrape writes its odds rows, so no holder of the lock waits on them.
   */
  stepFinished(
    runId: number,
    platform: string,
    outcome: 'completed' | 'failed',
    eventsFound: number,
    durationMs: number,
    error: string | null,
    odds: ScrapedSelection[] = [],
    judge?: VolumeCriteria,
  ): EventGuard {
    const upsert = odds.length > 0 ? oddsUpsertCte(platform, runId, odds) : undefined;
    const judged = outcome === 'completed' && judge !== undefined;
    const usual = judged
      ? `usual as (
           select percentile_cont(0.5) within group (order by prev.events_found) as median, count(*) as scrapes
           from (
             select ps.events_found from platform_steps ps
             where ps.platform = ? and ps.status = 'completed' and ps.finished_at is not null and ps.run_id <> ?
             order by ps.finished_at desc limit ?
           ) prev
         ),`
      : '';
    return {
      ctes: `${upsert ? `${upsert.sql},` : ''} ${usual} guard as (
               update platform_steps s set status = ?, events_found = ?, duration_ms = ?, error = ?, finished_at = now()
               ${judged ? `, expected_events = case when usual.scrapes >= ? then round(usual.median)::int end,
                            volume_drop = case when usual.scrapes >= ? then ?::int < usual.median * ? end` : ''}
               ${judged ? 'from usual' : ''}
               where s.run_id = ? and s.platform = ? and s.status = 'running' and exists (select 1 from lock)
               returning s.expected_events, s.volume_drop
             ),
             kept as (
               update platform_steps set events_found = ?
               where run_id = ? and platform = ? and status = 'failed' and events_found < ?
             )`,
      params: [
        ...(upsert?.params ?? []),
        ...(judged ? [platform, runId, judge.window] : []),
        outcome,
        eventsFound,
        durationMs,
        error,
        ...(judged ? [judge.minScrapes, judge.minScrapes, eventsFound, judge.fraction] : []), // SET sees the old events_found
        runId,
        platform,
        eventsFound,
        runId,
        platform,
        eventsFound,
      ],
      ...(judged ? { payload: `select jsonb_build_object('volumeDrop', volume_drop, 'expectedEvents', expected_events) from guard` } : {}),
    };
  }
}
