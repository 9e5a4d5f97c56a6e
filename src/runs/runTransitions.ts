import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';
import type { FailureReason, RunStatus, RunTrigger, TerminalRunStatus } from '../shared/contract.js';

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
 * recovery race to end the same run.
 */
export class RunTransitions {
  constructor(private readonly orm: Orm) {}

  private get connection() {
    return this.orm.em.getConnection();
  }

  private async won(sql: string, params: unknown[]): Promise<boolean> {
    const result = await this.connection.execute<{ affectedRows: number }>(sql, params, 'run');
    return result.affectedRows === 1;
  }

  /** Inserts a pending run with a pending step per platform. Throws the unique violation when a run is active. */
  async insertRun(run: NewRun): Promise<number> {
    return this.connection.transactional(async (trx) => {
      const [row] = await this.connection.execute<{ id: string }[]>(
        `insert into runs (status, trigger, retry_of, platforms, owner_id, trace_id) values ('pending', ?, ?, ?::text[], ?, ?) returning id`,
        [run.trigger, run.retryOf, sqlArray(run.platforms), run.ownerId, run.traceId],
        'all',
        trx,
      );
      const id = Number(row!.id);
      await this.connection.execute(
        `insert into platform_steps (run_id, platform) select ?, unnest(?::text[])`,
        [id, sqlArray(run.platforms)],
        'run',
        trx,
      );
      return id;
    });
  }

  /** pending -> running; false when the run was already ended by someone else. */
  markRunning(id: number): Promise<boolean> {
    return this.won(`update runs set status = 'running', started_at = now(), heartbeat_at = now() where id = ? and status = 'pending'`, [id]);
  }

  /** Advances the heartbeat; false when the run is no longer running (ended elsewhere). */
  heartbeat(id: number): Promise<boolean> {
    return this.won(`update runs set heartbeat_at = now() where id = ? and status = 'running'`, [id]);
  }

  /**
   * Ends an active run by compare-and-set; the steps still pending become `skipped` and those still
   * running `failed`. Returns false when the run was not in one of `from` (another actor won).
   */
  async finish(id: number, status: TerminalRunStatus, reason: FailureReason | null, from: RunStatus[] = ['running']): Promise<boolean> {
    return this.connection.transactional(async (trx) => {
      const won = await this.connection.execute<{ affectedRows: number }>(
        `update runs set status = ?, failure_reason = ?, finished_at = now() where id = ? and status = any(?::text[])`,
        [status, reason, id, sqlArray(from)],
        'run',
        trx,
      );
      if (won.affectedRows !== 1) return false;
      const message = reason ? `run ended (${reason}) before this platform finished` : 'run ended before this platform finished';
      await this.connection.execute(
        `update platform_steps set
           status = case when status = 'pending' then 'skipped' else 'failed' end,
           error = case when status = 'running' then ? else error end,
           finished_at = case when status = 'running' then now() else finished_at end,
           duration_ms = case when status = 'running' then (extract(epoch from now() - started_at) * 1000)::int else duration_ms end
         where run_id = ? and status in ('pending', 'running')`,
        [message, id],
        'run',
        trx,
      );
      return true;
    });
  }

  /** A step pending -> running; false when the run already ended it. */
  stepStarted(runId: number, platform: string): Promise<boolean> {
    return this.won(`update platform_steps set status = 'running', started_at = now() where run_id = ? and platform = ? and status = 'pending'`, [
      runId,
      platform,
    ]);
  }

  /** The sporting events found so far by a running step. */
  async stepProgress(runId: number, platform: string, eventsFound: number): Promise<void> {
    await this.won(`update platform_steps set events_found = ? where run_id = ? and platform = ? and status = 'running'`, [eventsFound, runId, platform]);
  }

  /** running -> completed/failed; false when the run already ended the step (watchdog, shutdown). */
  stepFinished(runId: number, platform: string, outcome: 'completed' | 'failed', eventsFound: number, durationMs: number, error: string | null): Promise<boolean> {
    return this.won(
      `update platform_steps set status = ?, events_found = ?, duration_ms = ?, error = ?, finished_at = now()
       where run_id = ? and platform = ? and status = 'running'`,
      [outcome, eventsFound, durationMs, error, runId, platform],
    );
  }
}
