import { boundRowCount, boundRows } from '../boundStatement.js';
import type { Orm } from '../database.js';
import { sqlArray } from '../sqlArray.js';
import { FAILED_PLATFORMS_LISTED } from '../../shared/contract.js';
import type { FailureReason, ImplausibleMarketExample, RunStatus, RunTrigger, StepFailureReason, StepStatus, TerminalRunStatus } from '../../shared/contract.js';

/**
 * Who writes `runs`: the run engine's transitions (runs/runTransitions.ts) through `insertRunWithSteps`,
 * `markRunRunning`, `beatRunHeartbeat` and `finishRunWithSteps`; recording a run's progress event advances
 * its `last_seq` (the run_events insert, src/events/). Transitions are compare-and-set (`... where status = ...`) and report whether they
 * won. `insertRunWithSteps` and `finishRunWithSteps` also write the run's `platform_steps` in the same
 * statement (data-modifying CTEs: atomic, one round trip). Everything else here reads.
 */

type Timestamp = Date | string;

export interface NewRun {
  trigger: RunTrigger;
  platforms: string[];
  retryOf: number | null;
  ownerId: string;
  traceId: string | null;
}

/** Inserts a pending run with a pending step per platform, in one statement; throws the unique violation when a run is active. */
export async function insertRunWithSteps(orm: Orm, run: NewRun): Promise<number> {
  const [row] = await boundRows<{ id: string }>(
    orm,
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

/** pending -> running; the number of runs changed (0: the run was already ended by someone else). */
export function markRunRunning(orm: Orm, id: number): Promise<number> {
  return boundRowCount(orm, `update runs set status = 'running', started_at = now(), heartbeat_at = now() where id = ? and status = 'pending'`, [id]);
}

/** Advances a running run's heartbeat while `owner` owns it; the number of runs changed (0: no longer running, or taken over). */
export function beatRunHeartbeat(orm: Orm, id: number, owner: string): Promise<number> {
  return boundRowCount(orm, `update runs set heartbeat_at = now() where id = ? and status = 'running' and owner_id = ?`, [id, owner]);
}

/**
 * Ends an active run by compare-and-set, in one statement; its steps still pending become `skipped` and
 * those still running `failed` with `stepError`. True when the run was in one of `from` (this call won), and,
 * with `owner`, still owned by it (a run another replica took over is not its to end).
 */
export async function finishRunWithSteps(orm: Orm, id: number, status: TerminalRunStatus, reason: FailureReason | null, from: RunStatus[], stepError: string, owner?: string): Promise<boolean> {
  const [row] = await boundRows<{ won: number }>(
    orm,
    `with won as (
       update runs set status = ?, failure_reason = ?, finished_at = now()
       where id = ? and status = any(?::text[]) and (?::text is null or owner_id = ?) returning id
     ), steps as (
       update platform_steps set
         status = case when status = 'pending' then 'skipped' else 'failed' end,
         error = case when status = 'running' then ? else error end,
         finished_at = case when status = 'running' then now() else finished_at end,
         duration_ms = case when status = 'running' then (extract(epoch from now() - started_at) * 1000)::int else duration_ms end
       where run_id in (select id from won) and status in ('pending', 'running')
     )
     select count(*)::int as won from won`,
    [status, reason, id, sqlArray(from), owner ?? null, owner ?? null, stepError],
  );
  return Number(row?.won ?? 0) === 1;
}

export interface RunRow {
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

export interface StepRow {
  platform: string;
  status: StepStatus;
  events_found: number;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  duration_ms: number | null;
  error: string | null;
  reason: StepFailureReason | null;
  volume_drop: boolean | null;
  expected_events: number | null;
  markets_checked: number;
  implausible_markets: number;
  implausible_examples: ImplausibleMarketExample[] | null;
  frozen_bookmakers: string[] | null;
  coverage_drops: string[] | null;
  outlier_prices: number | null;
  replica: string | null;
  attempt: number;
  captured: boolean;
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
               'finished_at', ps.finished_at, 'duration_ms', ps.duration_ms, 'error', ps.error, 'reason', ps.reason, 'volume_drop', ps.volume_drop,
               'expected_events', ps.expected_events, 'markets_checked', ps.markets_checked,
               'implausible_markets', ps.implausible_markets, 'implausible_examples', ps.implausible_examples,
               'frozen_bookmakers', ps.frozen_bookmakers, 'coverage_drops', ps.coverage_drops, 'outlier_prices', ps.outlier_prices, 'replica', ps.replica, 'attempt', ps.attempt,
               'captured', exists (select 1 from step_captures sc where sc.run_id = ps.run_id and sc.platform = ps.platform))
             order by array_position(r.platforms, ps.platform), ps.platform), '[]'::json) as steps
           from platform_steps ps where ps.run_id = r.id
         ) st`
      : ''
  }`;
const SELECT_RUNS = selectRuns();
const SELECT_RUNS_WITH_STEPS = selectRuns({ steps: true });

/** One run with its step totals. */
export async function selectRunSummary(orm: Orm, id: number): Promise<RunRow | undefined> {
  return (await boundRows<RunRow>(orm, `${SELECT_RUNS} where r.id = ?`, [id]))[0];
}

/** One run with its step totals and its steps in its platforms' order, in one statement. */
export async function selectRunDetail(orm: Orm, id: number): Promise<(RunRow & { steps: StepRow[] }) | undefined> {
  return (await boundRows<RunRow & { steps: StepRow[] }>(orm, `${SELECT_RUNS_WITH_STEPS} where r.id = ?`, [id]))[0];
}

export async function selectActiveRunId(orm: Orm): Promise<number | null> {
  const rows = await boundRows<{ id: string }>(orm, `select id from runs where status in ('pending', 'running') limit 1`);
  return rows[0] ? Number(rows[0].id) : null;
}

export interface RunFilter {
  statuses?: RunStatus[];
  triggers?: RunTrigger[];
  limit: number;
  /** Runs with a smaller id (older) than this. */
  beforeId?: number;
}

/** Newest first, up to `limit + 1` runs (the extra one tells that older runs match too). */
export function selectRunPage(orm: Orm, filter: RunFilter): Promise<RunRow[]> {
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
  return boundRows<RunRow>(orm, `${SELECT_RUNS} ${where.length ? `where ${where.join(' and ')}` : ''} order by r.id desc limit ?`, params);
}

/** The last `limit` finished runs, oldest first (trend charts). */
export function selectFinishedRuns(orm: Orm, limit: number) {
  return boundRows<{ id: string; status: TerminalRunStatus; trigger: RunTrigger; failure_reason: FailureReason | null; started_at: Timestamp | null; finished_at: Timestamp }>(
    orm,
    `select * from (
       select r.id, r.status, r.trigger, r.failure_reason, r.started_at, r.finished_at
       from runs r where r.finished_at is not null
       order by r.id desc
       limit ?
     ) last order by id`,
    [limit],
  );
}

export interface StaleLimits {
  staleAfterMs: number;
  neverBeatGraceMs: number;
  maxRunDurationMs: number;
}

/** Runs the watchdog must fail: heartbeat too old, never started, or running too long. */
export async function selectStaleRuns(orm: Orm, limits: StaleLimits): Promise<{ id: number; status: RunStatus; why: string }[]> {
  const { staleAfterMs, neverBeatGraceMs, maxRunDurationMs } = limits;
  const rows = await boundRows<{ id: string; status: RunStatus; why: string }>(
    orm,
    `select id, status,
       case
         when status = 'running' and started_at < now() - make_interval(secs => ?::float8 / 1000) then 'max_duration'
         when status = 'running' and heartbeat_at is not null then 'heartbeat'
         else 'never_started'
       end as why
     from runs
     where (status = 'running' and heartbeat_at < now() - make_interval(secs => ?::float8 / 1000))
        or (status = 'running' and heartbeat_at is null and started_at < now() - make_interval(secs => ?::float8 / 1000))
        or (status = 'running' and started_at < now() - make_interval(secs => ?::float8 / 1000))
        or (status = 'pending' and created_at < now() - make_interval(secs => ?::float8 / 1000))
     order by id`,
    [maxRunDurationMs, staleAfterMs, staleAfterMs + neverBeatGraceMs, maxRunDurationMs, staleAfterMs + neverBeatGraceMs],
  );
  return rows.map((row) => ({ id: Number(row.id), status: row.status, why: row.why }));
}

/** Active runs owned by other processes than `exceptOwner` (start-up and periodic recovery). */
export async function selectActiveRunsNotOwnedBy(orm: Orm, exceptOwner: string): Promise<{ id: number; ownerId: string | null }[]> {
  const rows = await boundRows<{ id: string; owner_id: string | null }>(orm, `select id, owner_id from runs where status in ('pending', 'running') and owner_id is distinct from ?`, [exceptOwner]);
  return rows.map((row) => ({ id: Number(row.id), ownerId: row.owner_id }));
}

/** Active runs and the oldest running run's start in epoch ms (the run activity gauges). */
export async function selectRunActivity(orm: Orm): Promise<{ active: number; oldestStartedAt: number | null }> {
  const [row] = await boundRows<{ active: number; oldest: string | null }>(
    orm,
    `select count(*)::int as active,
            (extract(epoch from min(started_at) filter (where status = 'running')) * 1000)::float8 as oldest
     from runs where status in ('pending', 'running')`,
  );
  return { active: row?.active ?? 0, oldestStartedAt: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
}

export interface TakenOverRun {
  id: number;
  status: 'pending' | 'running';
  trigger: RunTrigger;
  platforms: string[];
  traceId: string | null;
  /** Every step as the take-over found it (steps are jobs: those still running go on, or are delivered again). */
  steps: { platform: string; status: StepStatus; attempt: number; reason: StepFailureReason | null }[];
}

/**
 * A survivor takes over an active run whose owner (`deadOwner`, null: none) is gone, by compare-and-set on
 * the owner: the run becomes `owner`'s with a fresh heartbeat. Only a run whose last sign of life (heartbeat, else start, else creation) is younger than `freshWithinMs`
 * is taken over: an older one is left for its caller to fail. Undefined when another replica took it first,
 * it ended, or it is too old.
 */
export async function takeOverRunWithSteps(orm: Orm, id: number, deadOwner: string | null, owner: string, freshWithinMs: number): Promise<TakenOverRun | undefined> {
  const [run] = await boundRows<{ id: string; status: 'pending' | 'running'; trigger: RunTrigger; platforms: string[]; trace_id: string | null }>(
    orm,
    `update runs set owner_id = ?, heartbeat_at = case when status = 'running' then now() else heartbeat_at end
     where id = ? and status in ('pending', 'running') and owner_id is not distinct from ?
       and coalesce(heartbeat_at, started_at, created_at) > now() - make_interval(secs => ?::float8 / 1000)
     returning id, status, trigger, platforms, trace_id`,
    [owner, id, deadOwner, freshWithinMs],
  );
  if (!run) return undefined;
  const steps = await boundRows<TakenOverRun['steps'][number]>(orm, `select platform, status, attempt, reason from platform_steps where run_id = ?`, [id]);
  return { id: Number(run.id), status: run.status, trigger: run.trigger, platforms: run.platforms, traceId: run.trace_id, steps };
}

