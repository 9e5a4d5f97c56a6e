import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { FAILURE_RATE_WINDOW } from '../shared/contract.js';
import type { FailureReason, PlatformHealth, PlatformScrape, RunHistoryPoint, RunTrigger, ScrapeOutcome, TerminalRunStatus } from '../shared/contract.js';

/**
 * Bounded series for trend charts, served by the API so the browser never pages through runs:
 * a platform's last finished scrapes and the last finished runs, both oldest first.
 */

type Timestamp = Date | string;
const iso = (value: Timestamp) => new Date(value).toISOString();

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

export async function platformHistory(orm: Orm, platform: string, limit: number): Promise<PlatformScrape[]> {
  const rows = await boundRows<{ run_id: string; started_at: Timestamp | null; finished_at: Timestamp; duration_ms: number | null; events_found: number; outcome: ScrapeOutcome; error: string | null; volume_drop: boolean | null }>(
    orm,
    `select * from (
       select ps.run_id, ps.started_at, ps.finished_at, ps.duration_ms, ps.events_found, ${OUTCOME} as outcome,
         ps.error, ps.volume_drop
       from platform_steps ps
       where ps.platform = ? and ps.status in ('completed', 'failed') and ps.finished_at is not null
       order by ps.finished_at desc, ps.id desc
       limit ?
     ) last order by finished_at, run_id`,
    [platform, limit],
  );
  return rows.map((row) => ({
    runId: Number(row.run_id),
    startedAt: row.started_at === null ? null : iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: row.duration_ms,
    eventsFound: row.events_found,
    outcome: row.outcome,
    hasError: row.error !== null,
    error: row.error,
    volumeDrop: row.volume_drop,
  }));
}

/**
 * Lateral joins giving, for the platform named by `platformColumn`, its health (PlatformHealth): `recent_outcomes`
 * (json array of the last FAILURE_RATE_WINDOW finished scrapes' outcomes, oldest first) and its last failed step
 * (`last_error`, `last_error_at`, `last_error_run_id`, `last_error_outcome`). Each reads a handful of rows through
 * platform_steps_platform_finished_idx, newest first.
 */
export const healthJoins = (platformColumn: string) => `
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
    select ps.error as last_error, ps.finished_at as last_error_at, ps.run_id as last_error_run_id, ${OUTCOME} as last_error_outcome
    from platform_steps ps
    where ps.platform = ${platformColumn} and ps.status = 'failed' and ps.finished_at is not null and ps.error is not null
    order by ps.finished_at desc, ps.id desc
    limit 1
  ) health_error on true`;

export const HEALTH_COLUMNS = 'health_recent.recent_outcomes, health_error.last_error, health_error.last_error_at, health_error.last_error_run_id, health_error.last_error_outcome';

export interface HealthRow {
  recent_outcomes: ScrapeOutcome[];
  last_error: string | null;
  last_error_at: Timestamp | null;
  last_error_run_id: string | null;
  last_error_outcome: ScrapeOutcome | null;
}

/** PlatformHealth from the columns of `healthJoins`. */
export function toHealth(row: HealthRow): PlatformHealth {
  const recentOutcomes = row.recent_outcomes ?? [];
  const recentFailures = recentOutcomes.filter((outcome) => outcome !== 'completed').length;
  return {
    recentOutcomes,
    recentFailures,
    failureRate: recentOutcomes.length ? recentFailures / recentOutcomes.length : null,
    lastError:
      row.last_error === null || row.last_error_at === null
        ? null
        : { message: row.last_error, at: iso(row.last_error_at), runId: Number(row.last_error_run_id), outcome: row.last_error_outcome ?? 'failed' },
  };
}

/** One platform's health (GET /api/platforms/:name/history). */
export async function platformHealth(orm: Orm, platform: string): Promise<PlatformHealth> {
  const rows = await boundRows<HealthRow>(orm, `select ${HEALTH_COLUMNS} from (select ?::text as name) p ${healthJoins('p.name')}`, [platform]);
  return toHealth(rows[0]!);
}

export async function runHistory(orm: Orm, limit: number): Promise<RunHistoryPoint[]> {
  const rows = await boundRows<{ id: string; status: TerminalRunStatus; trigger: RunTrigger; failure_reason: FailureReason | null; started_at: Timestamp | null; finished_at: Timestamp }>(
    orm,
    `select * from (
       select r.id, r.status, r.trigger, r.failure_reason, r.started_at, r.finished_at
       from runs r where r.finished_at is not null
       order by r.id desc
       limit ?
     ) last order by id`,
    [limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    status: row.status,
    trigger: row.trigger,
    failureReason: row.failure_reason,
    startedAt: row.started_at === null ? null : iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: row.started_at === null ? null : new Date(row.finished_at).getTime() - new Date(row.started_at).getTime(),
  }));
}
