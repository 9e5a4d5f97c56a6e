import { boundRows, boundStatement } from '../boundStatement.js';
import type { Orm } from '../database.js';
import { sqlArray } from '../sqlArray.js';
import { FAILURE_RATE_WINDOW } from '../../shared/contract.js';
import type { ScrapeOutcome, StepFailureReason } from '../../shared/contract.js';
import { oddsUpsertCte, type MatchedBatch } from './odds.js';

/**
 * Who writes `platform_steps`: inserted with their run and ended with it (tables/runs.ts
 * `insertRunWithSteps`, `finishRunWithSteps`); a running step's progress (`updateStepProgress`, which
 * carries the step's odds batch); a step's start and end are the guards of their progress events
 * (events/eventGuard.ts, `step.started` and `step.finished`: one statement with the event insert). Everything
 * else here reads: a platform's history, health and last outcomes.
 */

type Timestamp = Date | string;

/**
 * The fence of every write of a step by the replica scraping it: true while the step `s` is held by `?` (a
 * replica id) at attempt `?`. A replica whose step job was handed to another (its replica died, or its
 * heartbeat lapsed) changes nothing with it.
 */
export const HOLDS_STEP = 's.replica = ? and s.attempt = ?';

/** Writes a running step's collected odds and its count of sporting events so far, in one statement. */
export async function updateStepProgress(orm: Orm, runId: number, platform: string, eventsFound: number, odds: MatchedBatch, replica: string, attempt: number): Promise<void> {
  const upsert = oddsUpsertCte(platform, runId, odds);
  await boundStatement(
    orm,
    `with ${upsert.sql}
     update platform_steps s set events_found = ? where s.run_id = ? and s.platform = ? and s.status = 'running' and ${HOLDS_STEP}`,
    [...upsert.params, eventsFound, runId, platform, replica, attempt],
  );
}

/** What the replica that claimed a step needs of its run. */
export interface ClaimedStep {
  platformsTotal: number;
  platformsDone: number;
  trigger: string;
}

/**
 * A replica takes a step of an active run as attempt `attempt` of its job: a pending step (attempt 1), or one
 * an earlier attempt left pending or running (its replica died). Undefined when the step had ended, its run
 * ended, or it is already on a later attempt.
 */
export async function claimStep(orm: Orm, runId: number, platform: string, replica: string, attempt: number): Promise<ClaimedStep | undefined> {
  const [row] = await boundRows<{ platforms_total: number; steps_done: number; trigger: string }>(
    orm,
    `with run as (select id, cardinality(platforms) as platforms_total, steps_done, trigger from runs where id = ? and status in ('pending', 'running'))
     update platform_steps s set attempt = ?, replica = ?, status = 'pending', started_at = null, events_found = 0
     from run
     where s.run_id = run.id and s.platform = ? and s.status in ('pending', 'running')
       and (s.attempt < ? or (s.attempt = ? and s.status = 'pending' and s.replica is null))
     returning run.platforms_total, run.steps_done, run.trigger`,
    [runId, attempt, replica, platform, attempt, attempt],
  );
  return row ? { platformsTotal: Number(row.platforms_total), platformsDone: Number(row.steps_done), trigger: row.trigger } : undefined;
}

/** Each unfinished step of an active run with the replica holding it (null: its job not taken yet). */
export function unfinishedSteps(orm: Orm): Promise<{ run_id: string; platform: string; replica: string | null; attempt: number; status: 'pending' | 'running' }[]> {
  return boundRows(
    orm,
    `select s.run_id, s.platform, s.replica, s.attempt, s.status from platform_steps s join runs r on r.id = s.run_id
     where r.status in ('pending', 'running') and s.status in ('pending', 'running')`,
    [],
  );
}

/** The steps of a run, as its owner waits for them. */
export function stepStatuses(orm: Orm, runId: number): Promise<{ platform: string; status: string }[]> {
  return boundRows(orm, `select platform, status from platform_steps where run_id = ?`, [runId]);
}

/**
 * A failed step's outcome from what it recorded: scrapePlatform writes "timed out after N ms" and
 * "aborted: the run ended"; finishing a run fails the steps still running with "run ended ..." or, when the
 * connection guard ended it, "stopped: the run lost its watchers" (runTransitions.stoppedStepMessage).
 */
const OUTCOME = `case
    when ps.status = 'completed' then 'completed'
    when ps.error like 'timed out after %' then 'timeout'
    when ps.error like 'aborted%' or ps.error like 'run ended%' or ps.error like 'stopped:%' then 'aborted'
    else 'failed'
  end`;

/** A platform's last `limit` finished scrapes, oldest first. */
export function selectPlatformScrapes(orm: Orm, platform: string, limit: number) {
  return boundRows<{ run_id: string; started_at: Timestamp | null; finished_at: Timestamp; duration_ms: number | null; events_found: number; outcome: ScrapeOutcome; error: string | null; reason: StepFailureReason | null; volume_drop: boolean | null }>(
    orm,
    `select * from (
       select ps.run_id, ps.started_at, ps.finished_at, ps.duration_ms, ps.events_found, ${OUTCOME} as outcome,
         ps.error, ps.reason, ps.volume_drop
       from platform_steps ps
       where ps.platform = ? and ps.status in ('completed', 'failed') and ps.finished_at is not null
       order by ps.finished_at desc, ps.id desc
       limit ?
     ) last order by finished_at, run_id`,
    [platform, limit],
  );
}

/**
 * Lateral joins giving, for the platform named by `platformColumn`, its health (PlatformHealth): `recent_outcomes`
 * (json array of the last FAILURE_RATE_WINDOW finished scrapes' outcomes, oldest first) and its last failed step
 * (`last_error`, `last_error_at`, `last_error_run_id`, `last_error_outcome`, `last_error_reason`). Each reads a handful of rows through
 * platform_steps_platform_finished_idx, newest first.
 */
const healthJoins = (platformColumn: string) => `
  left join lateral (
    select coalesce(json_agg(w.outcome order by w.finished_at, w.id), '[]'::json) as recent_outcomes
    from (
      select ps.id, ps.finished_at, ${OUTCOME} as outcome
      from platform_steps ps
      where ps.platform = ${platformColumn} and ps.status in ('completed', 'failed') and ps.finished_at is not null
      order by ps.finished_at desc, ps.id desc
      limit ${FAILURE_RATE_WINDOW}
    ) w
  ) health_recent on true
  left join lateral (
    select ps.error as last_error, ps.finished_at as last_error_at, ps.run_id as last_error_run_id, ${OUTCOME} as last_error_outcome,
      ps.reason as last_error_reason
    from platform_steps ps
    where ps.platform = ${platformColumn} and ps.status = 'failed' and ps.finished_at is not null and ps.error is not null
    order by ps.finished_at desc, ps.id desc
    limit 1
  ) health_error on true`;

const HEALTH_COLUMNS = 'health_recent.recent_outcomes, health_error.last_error, health_error.last_error_at, health_error.last_error_run_id, health_error.last_error_outcome, health_error.last_error_reason';

export interface HealthRow {
  recent_outcomes: ScrapeOutcome[];
  last_error: string | null;
  last_error_at: Timestamp | null;
  last_error_run_id: string | null;
  last_error_outcome: ScrapeOutcome | null;
  last_error_reason: StepFailureReason | null;
}

/** One platform's health columns. */
export async function selectPlatformHealth(orm: Orm, platform: string): Promise<HealthRow> {
  const rows = await boundRows<HealthRow>(orm, `select ${HEALTH_COLUMNS} from (select ?::text as name) p ${healthJoins('p.name')}`, [platform]);
  return rows[0]!;
}

/** Each platform's last finished step, its last success and its health columns. */
export function selectLastOutcomes(orm: Orm) {
  return boundRows<{ platform: string; run_id: string; status: 'completed' | 'failed'; finished_at: Timestamp; events_found: number; last_success_at: Timestamp | null } & HealthRow>(
    orm,
    `select lo.*, ${HEALTH_COLUMNS} from (
       select distinct on (ps.platform) ps.platform, ps.run_id, ps.status, ps.finished_at, ps.events_found,
         (select max(ok.finished_at) from platform_steps ok where ok.platform = ps.platform and ok.status = 'completed') as last_success_at
       from platform_steps ps where ps.status in ('completed', 'failed') and ps.finished_at is not null
       order by ps.platform, ps.finished_at desc
     ) lo ${healthJoins('lo.platform')}`,
  );
}

/**
 * Each platform's last successful scrape (null columns: none). One index look-up per platform
 * ((platform, finished_at), newest first).
 */
export function selectLastSuccessfulSteps(orm: Orm, platforms: readonly string[]) {
  return boundRows<{ platform: string; finished_at: Timestamp | null; events_found: number | null }>(
    orm,
    `select p.platform, last.finished_at, last.events_found
     from unnest(?::text[]) as p(platform)
     left join lateral (
       select ps.finished_at, ps.events_found from platform_steps ps
       where ps.platform = p.platform and ps.status = 'completed' and ps.finished_at is not null
       order by ps.finished_at desc limit 1
     ) last on true`,
    [sqlArray(platforms)],
  );
}

/** Each completed step's outlier count (runs/reportOutliers.ts), for every platform counted, in one statement. */
export async function recordRunOutliers(orm: Orm, runId: number, counts: Record<string, number>): Promise<void> {
  await boundStatement(
    orm,
    `update platform_steps ps set outlier_prices = v.value::int from jsonb_each_text(?::jsonb) v
     where ps.run_id = ? and ps.platform = v.key and ps.status = 'completed'`,
    [JSON.stringify(counts), runId],
  );
}
