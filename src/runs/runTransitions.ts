import type { Orm } from '../db/database.js';
import { boundRowCount, boundRows, boundStatement } from '../db/boundStatement.js';
import { oddsUpsertCte } from '../db/oddsUpsert.js';
import { sqlArray } from '../db/sqlArray.js';
import type { ScrapedSelection } from '../platforms/adapter.js';
import type { FailureReason, RunStatus, RunTrigger, TerminalRunStatus } from '../shared/contract.js';
import { retryWrite, type RetryOptions } from './databaseRetry.js';

/** The error of a step that was still running when its run ended. */
export function stoppedStepMessage(reason: FailureReason | null): string {
  if (reason === 'connection_lost') return 'stopped: the run lost its watchers';
  return reason ? `run ended (${reason}) before this platform finished` : 'run ended before this platform finished';
}

export interface NewRun {
  trigger: RunTrigger;
  platforms: string[];
  retryOf: number | null;
  ownerId: string;
  traceId: string | null;
}

/**
 * The writes of the run engine. Transitions are compare-and-set (`... WHERE status = ...`) and report
 * whether they won, because the runner, the watchdog, the connection guard, shutdown and start-up
 * recovery race to end the same run. Each is one statement (several writes are data-modifying CTEs of
 * one statement, atomic as a transaction would be, one round trip instead of four).
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

  private async won(sql: string, params: unknown[], retry = true): Promise<boolean> {
    const write = () => boundRowCount(this.orm, sql, params);
    return (retry ? await retryWrite(write, this.retry) : await write()) === 1;
  }

  /** A compare-and-set whose statement ends with `select count(*)::int as won from <the CTE that updates>`. */
  private async wonBySelect(sql: string, params: unknown[]): Promise<boolean> {
    const [row] = await retryWrite(() => boundRows<{ won: number }>(this.orm, sql, params), this.retry);
    return Number(row?.won ?? 0) === 1;
  }

  /**
   * Inserts a pending run with a pending step per platform, in one statement. Throws the unique violation
   * when a run is active. Not retried: the caller answers the request, and a 503 beats a long wait.
   */
  async insertRun(run: NewRun): Promise<number> {
    const [row] = await boundRows<{ id: string }>(
      this.orm,
      `with run as (
         insert into runs (status, trigger, retry_of, platforms, owner_id, trace_id) values ('pending', ?, ?, ?::text[], ?, ?) returning id
       ), steps as (
         insert into platform_steps (run_id, platform) select run.id, unnest(?::text[]) from run
       )
       select id from run`,
      [run.trigger, run.retryOf, sqlArray(run.platforms), run.ownerId, run.traceId, sqlArray(run.platforms)],
    );
    return Number(row!.id);
  }

  /** pending -> running; false when the run was already ended by someone else. */
  markRunning(id: number): Promise<boolean> {
    return this.won(`update runs set status = 'running', started_at = now(), heartbeat_at = now() where id = ? and status = 'pending'`, [id]);
  }

  /** Advances the heartbeat; false when the run is no longer running (ended elsewhere). Not retried: the next beat is the retry. */
  heartbeat(id: number): Promise<boolean> {
    return this.won(`update runs set heartbeat_at = now() where id = ? and status = 'running'`, [id], false);
  }

  /**
   * Ends an active run by compare-and-set, in one statement; the steps still pending become `skipped` and
   * those still running `failed` (their error: `stoppedStepMessage`). Returns false when the run was not in one of `from` (another actor won).
   */
  finish(id: number, status: TerminalRunStatus, reason: FailureReason | null, from: RunStatus[] = ['running']): Promise<boolean> {
    const message = stoppedStepMessage(reason);
    return this.wonBySelect(
      `with won as (
         update runs set status = ?, failure_reason = ?, finished_at = now() where id = ? and status = any(?::text[]) returning id
       ), steps as (
         update platform_steps set
           status = case when status = 'pending' then 'skipped' else 'failed' end,
           error = case when status = 'running' then ? else error end,
           finished_at = case when status = 'running' then now() else finished_at end,
           duration_ms = case when status = 'running' then (extract(epoch from now() - started_at) * 1000)::int else duration_ms end
         where run_id in (select id from won) and status in ('pending', 'running')
       )
       select count(*)::int as won from won`,
      [status, reason, id, sqlArray(from), message],
    );
  }

  /** Writes a running step's collected odds and its count of sporting events so far, in one statement. */
  async stepProgress(runId: number, platform: string, eventsFound: number, odds: ScrapedSelection[]): Promise<void> {
    const upsert = oddsUpsertCte(platform, runId, odds);
    await retryWrite(
      () =>
        boundStatement(
          this.orm,
          `with ${upsert.sql}
           update platform_steps set events_found = ? where run_id = ? and platform = ? and status = 'running'`,
          [...upsert.params, eventsFound, runId, platform],
        ),
      this.retry,
    );
  }
}
