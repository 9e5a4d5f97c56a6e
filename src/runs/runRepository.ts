import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';
import type {
  FailureReason,
  PlatformStep,
  RunDetail,
  RunPage,
  RunStatus,
  RunSummary,
  RunTrigger,
  StepStatus,
  TerminalRunStatus,
} from '../shared/contract.js';

/**
 * Every query the run engine makes. Transitions are compare-and-set (`... WHERE status = ...`) and
 * report whether they won, because the runner, the watchdog, the connection guard and start-up
 * recovery race to end the same run.
 */

interface RunRow {
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  failure_reason: FailureReason | null;
  retry_of: string | null;
  retried_by: string | null;
  platforms: string[];
  owner_id: string | null;
  trace_id: string | null;
  events_found: number;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  heartbeat_at: Timestamp | null;
  steps_done: number;
  steps_succeeded: number;
  steps_failed: number;
}

interface StepRow {
  platform: string;
  status: StepStatus;
  events_found: number;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  duration_ms: number | null;
  error: string | null;
}

const RUN_COLUMNS = `
  r.id, r.status, r.trigger, r.failure_reason, r.retry_of, r.platforms, r.owner_id, r.trace_id, r.created_at,
  r.started_at, r.finished_at, r.heartbeat_at,
  (select rb.id from runs rb where rb.retry_of = r.id) as retried_by,
  coalesce(s.events_found, 0)::int as events_found, coalesce(s.done, 0)::int as steps_done,
  coalesce(s.succeeded, 0)::int as steps_succeeded, coalesce(s.failed, 0)::int as steps_failed`;
const STEP_TOTALS = `
  left join lateral (
    select sum(ps.events_found) as events_found,
      count(*) filter (where ps.status in ('completed', 'failed')) as done,
      count(*) filter (where ps.status = 'completed') as succeeded,
      count(*) filter (where ps.status = 'failed') as failed
    from platform_steps ps where ps.run_id = r.id
  ) s on true`;

type Timestamp = Date | string;
/** The ORM's pg driver returns timestamps as strings; the API speaks ISO 8601 in UTC. */
const iso = (value: Timestamp | null) => (value === null ? null : new Date(value).toISOString());
const ms = (value: Timestamp | null) => (value === null ? undefined : new Date(value).getTime());

export interface NewRun {
  trigger: RunTrigger;
  platforms: string[];
  retryOf: number | null;
  ownerId: string;
  traceId: string | null;
}

export interface RunFilter {
  statuses?: RunStatus[];
  triggers?: RunTrigger[];
  limit: number;
  /** Runs with a smaller id (older) than this. */
  beforeId?: number;
}

export class RunRepository {
  constructor(
    private readonly orm: Orm,
    private readonly traceUrlTemplate: string | undefined,
  ) {}

  private get connection() {
    return this.orm.em.getConnection();
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
  async markRunning(id: number): Promise<boolean> {
    const result = await this.connection.execute<{ affectedRows: number }>(
      `update runs set status = 'running', started_at = now(), heartbeat_at = now() where id = ? and status = 'pending'`,
      [id],
      'run',
    );
    return result.affectedRows === 1;
  }

  /** Advances the heartbeat; false when the run is no longer running (ended elsewhere). */
  async heartbeat(id: number): Promise<boolean> {
    const result = await this.connection.execute<{ affectedRows: number }>(
      `update runs set heartbeat_at = now() where id = ? and status = 'running'`,
      [id],
      'run',
    );
    return result.affectedRows === 1;
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
      await this.connection.execute(
        `update runs set events_found = (select coalesce(sum(events_found), 0) from platform_steps where run_id = ?) where id = ?`,
        [id, id],
        'run',
        trx,
      );
      return true;
    });
  }

  async stepStarted(runId: number, platform: string): Promise<boolean> {
    const result = await this.connection.execute<{ affectedRows: number }>(
      `update platform_steps set status = 'running', started_at = now() where run_id = ? and platform = ? and status = 'pending'`,
      [runId, platform],
      'run',
    );
    return result.affectedRows === 1;
  }

  async stepProgress(runId: number, platform: string, eventsFound: number): Promise<void> {
    await this.connection.execute(
      `update platform_steps set events_found = ? where run_id = ? and platform = ? and status = 'running'`,
      [eventsFound, runId, platform],
      'run',
    );
  }

  /** running -> completed/failed; false when the run already ended the step (watchdog, shutdown). */
  async stepFinished(runId: number, platform: string, outcome: 'completed' | 'failed', eventsFound: number, durationMs: number, error: string | null): Promise<boolean> {
    const result = await this.connection.execute<{ affectedRows: number }>(
      `update platform_steps set status = ?, events_found = ?, duration_ms = ?, error = ?, finished_at = now()
       where run_id = ? and platform = ? and status = 'running'`,
      [outcome, eventsFound, durationMs, error, runId, platform],
      'run',
    );
    return result.affectedRows === 1;
  }

  async summaryOf(id: number): Promise<RunSummary | null> {
    const rows = await this.connection.execute<RunRow[]>(`select ${RUN_COLUMNS} from runs r ${STEP_TOTALS} where r.id = ?`, [id], 'all');
    return rows[0] ? this.toSummary(rows[0]) : null;
  }

  async detailOf(id: number): Promise<RunDetail | null> {
    const summary = await this.summaryOf(id);
    if (!summary) return null;
    const steps = await this.connection.execute<StepRow[]>(
      `select platform, status, events_found, started_at, finished_at, duration_ms, error
       from platform_steps where run_id = ? order by array_position(?::text[], platform), platform`,
      [id, sqlArray(summary.platforms)],
      'all',
    );
    return { ...summary, steps: steps.map(toStep) };
  }

  async activeRunId(): Promise<number | null> {
    const rows = await this.connection.execute<{ id: string }[]>(`select id from runs where status in ('pending', 'running') limit 1`, [], 'all');
    return rows[0] ? Number(rows[0].id) : null;
  }

  async list(filter: RunFilter): Promise<RunPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.statuses?.length) {
      where.push('r.status = any(?::text[])');
      params.push(sqlArray(filter.statuses));
    }
    if (filter.triggers?.length) {
      where.push('r.trigger = any(?::text[])');
      params.push(sqlArray(filter.triggers));
    }
    if (filter.beforeId !== undefined) {
      where.push('r.id < ?');
      params.push(filter.beforeId);
    }
    params.push(filter.limit + 1);
    const rows = await this.connection.execute<RunRow[]>(
      `select ${RUN_COLUMNS} from runs r ${STEP_TOTALS} ${where.length ? `where ${where.join(' and ')}` : ''} order by r.id desc limit ?`,
      params,
      'all',
    );
    const items = rows.slice(0, filter.limit).map((row) => this.toSummary(row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > filter.limit && last ? encodeCursor(last.id) : null };
  }

  /** Runs the watchdog must fail: heartbeat too old, never started, or running too long. */
  async findStale(staleAfterMs: number, neverBeatGraceMs: number, maxRunDurationMs: number): Promise<{ id: number; status: RunStatus; why: string }[]> {
    const rows = await this.connection.execute<{ id: string; status: RunStatus; why: string }[]>(
      `select id, status,
         case
           when status = 'running' and started_at < now() - make_interval(secs => ? / 1000.0) then 'max_duration'
           when status = 'running' and heartbeat_at is not null then 'heartbeat'
           else 'never_started'
         end as why
       from runs
       where (status = 'running' and heartbeat_at < now() - make_interval(secs => ? / 1000.0))
          or (status = 'running' and heartbeat_at is null and started_at < now() - make_interval(secs => ? / 1000.0))
          or (status = 'running' and started_at < now() - make_interval(secs => ? / 1000.0))
          or (status = 'pending' and created_at < now() - make_interval(secs => ? / 1000.0))
       order by id`,
      [maxRunDurationMs, staleAfterMs, staleAfterMs + neverBeatGraceMs, maxRunDurationMs, staleAfterMs + neverBeatGraceMs],
      'all',
    );
    return rows.map((row) => ({ id: Number(row.id), status: row.status, why: row.why }));
  }

  /** Active runs owned by other processes, grouped by owner (start-up recovery). */
  async activeRunsByOwner(exceptOwner: string): Promise<Map<string | null, number[]>> {
    const rows = await this.connection.execute<{ id: string; owner_id: string | null }[]>(
      `select id, owner_id from runs where status in ('pending', 'running') and owner_id is distinct from ?`,
      [exceptOwner],
      'all',
    );
    const byOwner = new Map<string | null, number[]>();
    for (const row of rows) byOwner.set(row.owner_id, [...(byOwner.get(row.owner_id) ?? []), Number(row.id)]);
    return byOwner;
  }

  async runActivity(): Promise<{ active: number; oldestRunningAgeSeconds: number }> {
    const [row] = await this.connection.execute<{ active: number; age: number | null }[]>(
      `select count(*)::int as active, extract(epoch from now() - min(started_at) filter (where status = 'running'))::float8 as age
       from runs where status in ('pending', 'running')`,
      [],
      'all',
    );
    return { active: row?.active ?? 0, oldestRunningAgeSeconds: Math.max(0, row?.age ?? 0) };
  }

  /** Last finished step per platform (GET /api/platforms) and last success (freshness metric). */
  async platformOutcomes(): Promise<
    { platform: string; runId: number; status: 'completed' | 'failed'; finishedAt: Date; eventsFound: number; lastSuccessAt: Date | null }[]
  > {
    const rows = await this.connection.execute<
      { platform: string; run_id: string; status: 'completed' | 'failed'; finished_at: Timestamp; events_found: number; last_success_at: Timestamp | null }[]
    >(
      `select distinct on (ps.platform) ps.platform, ps.run_id, ps.status, ps.finished_at, ps.events_found,
         (select max(ok.finished_at) from platform_steps ok where ok.platform = ps.platform and ok.status = 'completed') as last_success_at
       from platform_steps ps where ps.status in ('completed', 'failed') and ps.finished_at is not null
       order by ps.platform, ps.finished_at desc`,
      [],
      'all',
    );
    return rows.map((row) => ({
      platform: row.platform,
      runId: Number(row.run_id),
      status: row.status,
      finishedAt: new Date(row.finished_at),
      eventsFound: row.events_found,
      lastSuccessAt: row.last_success_at === null ? null : new Date(row.last_success_at),
    }));
  }

  toSummary(row: RunRow): RunSummary {
    const started = ms(row.started_at);
    const finished = ms(row.finished_at);
    return {
      id: Number(row.id),
      status: row.status,
      trigger: row.trigger,
      failureReason: row.failure_reason,
      retryOf: row.retry_of === null ? null : Number(row.retry_of),
      retriedBy: row.retried_by === null ? null : Number(row.retried_by),
      platforms: row.platforms,
      platformsTotal: row.platforms.length,
      platformsDone: row.steps_done,
      platformsSucceeded: row.steps_succeeded,
      platformsFailed: row.steps_failed,
      eventsFound: row.events_found,
      createdAt: iso(row.created_at)!,
      startedAt: iso(row.started_at),
      finishedAt: iso(row.finished_at),
      heartbeatAt: iso(row.heartbeat_at),
      durationMs: started !== undefined && finished !== undefined ? finished - started : null,
      traceId: row.trace_id,
      traceUrl: row.trace_id && this.traceUrlTemplate ? this.traceUrlTemplate.replaceAll('{traceId}', row.trace_id) : null,
    };
  }
}

function toStep(row: StepRow): PlatformStep {
  return {
    platform: row.platform,
    status: row.status,
    eventsFound: row.events_found,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: row.duration_ms,
    error: row.error,
  };
}

export const encodeCursor = (id: number) => Buffer.from(`r:${id}`).toString('base64url');

/** The id an opaque cursor points before, or null when it is not one of ours. */
export function decodeCursor(cursor: string): number | null {
  const match = /^r:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : null;
}
