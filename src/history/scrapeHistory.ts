import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import type { FailureReason, PlatformScrape, RunHistoryPoint, RunTrigger, ScrapeOutcome, TerminalRunStatus } from '../shared/contract.js';

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
  const rows = await boundRows<{ run_id: string; started_at: Timestamp | null; finished_at: Timestamp; duration_ms: number | null; events_found: number; outcome: ScrapeOutcome; has_error: boolean; volume_drop: boolean | null }>(
    orm,
    `select * from (
       select ps.run_id, ps.started_at, ps.finished_at, ps.duration_ms, ps.events_found, ${OUTCOME} as outcome,
         ps.error is not null as has_error, ps.volume_drop
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
    hasError: row.has_error,
    volumeDrop: row.volume_drop,
  }));
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
