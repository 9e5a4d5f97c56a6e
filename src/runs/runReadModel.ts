import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';
import { FAILED_PLATFORMS_LISTED } from '../shared/contract.js';
import type { FailureReason, PlatformStep, RunDetail, RunStatus, RunSummary, RunTrigger, StepStatus } from '../shared/contract.js';

/**
 * The runs as the API and the progress events show them (RunSummary, RunDetail): step totals, the
 * retry that followed, and the trace URL built from TRACE_URL_TEMPLATE. Read only.
 */

interface RunRow {
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  failure_reason: FailureReason | null;
  retry_of: string | null;
  retried_by: string | null;
  platforms: string[];
  trace_id: string | null;
  events_found: number;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  heartbeat_at: Timestamp | null;
  steps_done: number;
  steps_succeeded: number;
  steps_failed: number;
  failed_platforms: string[];
}

interface StepRow {
  platform: string;
  status: StepStatus;
  events_found: number;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  duration_ms: number | null;
  error: string | null;
  volume_drop: boolean | null;
  expected_events: number | null;
}

/** The runs with their step totals; `steps` adds each run's steps as a json array, in its platforms' order. */
const selectRuns = ({ steps = false } = {}) => `
  select r.id, r.status, r.trigger, r.failure_reason, r.retry_of, r.platforms, r.trace_id, r.created_at,
    r.started_at, r.finished_at, r.heartbeat_at,
    (select rb.id from runs rb where rb.retry_of = r.id) as retried_by,
    coalesce(s.events_found, 0)::int as events_found, coalesce(s.done, 0)::int as steps_done,
    coalesce(s.succeeded, 0)::int as steps_succeeded, coalesce(s.failed, 0)::int as steps_failed,
    coalesce(s.failed_platforms, '{}') as failed_platforms
    ${steps ? ', st.steps' : ''}
  from runs r
  left join lateral (
    select sum(ps.events_found) as events_found,
      count(*) filter (where ps.status in ('completed', 'failed')) as done,
      count(*) filter (where ps.status = 'completed') as succeeded,
      count(*) filter (where ps.status = 'failed') as failed,
      (array_agg(ps.platform order by array_position(r.platforms, ps.platform), ps.platform)
        filter (where ps.status = 'failed'))[1:${FAILED_PLATFORMS_LISTED}] as failed_platforms
    from platform_steps ps where ps.run_id = r.id
  ) s on true
  ${
    steps
      ? `cross join lateral (
           select coalesce(json_agg(json_build_object(
               'platform', ps.platform, 'status', ps.status, 'events_found', ps.events_found, 'started_at', ps.started_at,
               'finished_at', ps.finished_at, 'duration_ms', ps.duration_ms, 'error', ps.error, 'volume_drop', ps.volume_drop,
               'expected_events', ps.expected_events)
             order by array_position(r.platforms, ps.platform), ps.platform), '[]'::json) as steps
           from platform_steps ps where ps.run_id = r.id
         ) st`
      : ''
  }`;
const SELECT_RUNS = selectRuns();
const SELECT_RUNS_WITH_STEPS = selectRuns({ steps: true });

type Timestamp = Date | string;
/** The ORM's pg driver returns timestamps as strings; the API speaks ISO 8601 in UTC. */
const iso = (value: Timestamp | null) => (value === null ? null : new Date(value).toISOString());
const ms = (value: Timestamp | null) => (value === null ? undefined : new Date(value).getTime());

export interface RunFilter {
  statuses?: RunStatus[];
  triggers?: RunTrigger[];
  limit: number;
  /** Runs with a smaller id (older) than this. */
  beforeId?: number;
}

export class RunReadModel {
  constructor(
    private readonly orm: Orm,
    private readonly traceUrlTemplate: string | undefined,
  ) {}

  async summaryOf(id: number): Promise<RunSummary | null> {
    const rows = await boundRows<RunRow>(this.orm, `${SELECT_RUNS} where r.id = ?`, [id]);
    return rows[0] ? this.toSummary(rows[0]) : null;
  }

  /** A run with its steps in its platforms' order, in one statement. */
  async detailOf(id: number): Promise<RunDetail | null> {
    const rows = await boundRows<RunRow & { steps: StepRow[] }>(this.orm, `${SELECT_RUNS_WITH_STEPS} where r.id = ?`, [id]);
    const row = rows[0];
    return row ? { ...this.toSummary(row), steps: row.steps.map(toStep) } : null;
  }

  async activeRunId(): Promise<number | null> {
    const rows = await boundRows<{ id: string }>(this.orm, `select id from runs where status in ('pending', 'running') limit 1`);
    return rows[0] ? Number(rows[0].id) : null;
  }

  /** Newest first; `hasMore` when older runs match the filter too. */
  async list(filter: RunFilter): Promise<{ items: RunSummary[]; hasMore: boolean }> {
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
    const rows = await boundRows<RunRow>(this.orm, `${SELECT_RUNS} ${where.length ? `where ${where.join(' and ')}` : ''} order by r.id desc limit ?`, params);
    return { items: rows.slice(0, filter.limit).map((row) => this.toSummary(row)), hasMore: rows.length > filter.limit };
  }

  private toSummary(row: RunRow): RunSummary {
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
      failedPlatforms: row.failed_platforms,
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
    volumeDrop: row.volume_drop,
    expectedEvents: row.expected_events,
  };
}
