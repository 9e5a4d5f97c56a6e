import { oddsUpsertCte, type MatchedBatch } from '../db/tables/odds.js';
import { HOLDS_STEP } from '../db/tables/platformSteps.js';
import type { ImplausibleMarketExample, StepFailureReason } from '../shared/contract.js';

/**
 * The write a run's event reports, made in the event's own statement (EventLog.recordIf): the event is
 * recorded only when the write happened, and the write only with its event. A value, not SQL: the
 * publisher renders it (guardStatement) into its own statement.
 */
export type EventGuard = StepStartedGuard | StepFinishedGuard | StepInterruptedGuard;

/**
 * The step pending -> running (`platform.started`); no event when the run already ended the step, or when
 * `replica` no longer holds it at `attempt` (its job was handed to another replica: src/runs/stepJob.ts).
 */
export interface StepStartedGuard {
  kind: 'step.started';
  platform: string;
  /** The replica that holds the step's job (it claimed the step), stored on the step. */
  replica: string;
  attempt: number;
}

/**
 * A step whose job was delivered once more after its replica died at each of its attempts: it fails
 * `interrupted` (`platform.failed`) instead of being scraped again. No event when the step had ended.
 */
export interface StepInterruptedGuard {
  kind: 'step.interrupted';
  platform: string;
  /** The step's error (stored as is: ours, never a feed's). */
  error: string;
}

/** How a completed step is judged, in the step's own final statement (the `step.finished` guard below; runs/volumeDrop.ts). */
export interface VolumeCriteria {
  /** VOLUME_DROP_FRACTION: a drop is fewer events than this share of the median. */
  fraction: number;
  /** VOLUME_DROP_WINDOW: the median of this many previous successful scrapes. */
  window: number;
  minScrapes: number;
}

/**
 * The step running -> completed/failed (`platform.completed`/`platform.failed`), with its last odds;
 * no event when the run already ended the step (connection guard, watchdog, shutdown) or another replica
 * took the run over (its attempt is then that replica's). The odds are
 * written even then, and such a step (`failed` by its run) keeps the count of sporting events whose odds
 * were stored. A completed step is also judged for a volume drop when `judge` is given (see
 * runs/volumeDrop.ts); the verdict is merged into the event as `volumeDrop` and `expectedEvents`.
 */
export interface StepFinishedGuard {
  kind: 'step.finished';
  platform: string;
  /** The replica that scraped it: the step ends only while that replica still holds it at `attempt`. */
  replica: string;
  attempt: number;
  outcome: 'completed' | 'failed';
  eventsFound: number;
  durationMs: number;
  error: string | null;
  /** Why it failed (null when completed, or failed by its run). */
  reason: StepFailureReason | null;
  odds: MatchedBatch;
  judge?: VolumeCriteria;
  /** The implausible-markets check of every price the step wrote (quality/implausibleMarkets.ts). */
  markets: { checked: number; implausible: number; examples: ImplausibleMarketExample[] };
}

/**
 * A guard as SQL for the publisher's statement: CTE definitions, the last one named `guard`, which
 * returns a row when the write happened; `payload`, a jsonb expression over `guard`, is merged into the
 * event's payload. Each write gates itself on `exists (select 1 from lock)` so the events lock is taken
 * before its row locks (the deadlock rule of insertEventAndNotify).
 */
export interface GuardStatement {
  ctes: string;
  params: unknown[];
  payload?: string;
  /** The write ends a step: the run's count of ended steps goes up with the event. */
  endsStep?: boolean;
}

export function guardStatement(runId: number, guard: EventGuard): GuardStatement {
  if (guard.kind === 'step.started') return stepStarted(runId, guard);
  if (guard.kind === 'step.interrupted') return stepInterrupted(runId, guard);
  return stepFinished(runId, guard);
}

function stepStarted(runId: number, { platform, replica, attempt }: StepStartedGuard): GuardStatement {
  return {
    ctes: `guard as (
               update platform_steps s set status = 'running', started_at = now()
               where s.run_id = ? and s.platform = ? and s.status = 'pending' and ${HOLDS_STEP} and exists (select 1 from lock) returning 1
             )`,
    params: [runId, platform, replica, attempt],
  };
}

function stepInterrupted(runId: number, { platform, error }: StepInterruptedGuard): GuardStatement {
  return {
    ctes: `guard as (
               update platform_steps set status = 'failed', reason = 'interrupted', finished_at = now(),
                 duration_ms = (extract(epoch from now() - started_at) * 1000)::int,
                 error = ?
               where run_id = ? and platform = ? and status in ('pending', 'running') and exists (select 1 from lock) returning 1
             )`,
    params: [error, runId, platform],
    endsStep: true,
  };
}

/**
 * The median of the platform's previous successful scrapes (the (platform, finished_at) index, newest
 * first) is read from the statement's snapshot and stored on the step. The events lock is held for the
 * whole statement, the last odds batch included (at most 2,000 rows, a few ms; bench:engine's
 * 200-platform run was no slower than with the odds in a statement of their own). No deadlock: only this
 * platform's scrape writes its odds rows, so no holder of the lock waits on them.
 */
function stepFinished(runId: number, { platform, replica, attempt, outcome, eventsFound, durationMs, error, reason, odds, judge, markets }: StepFinishedGuard): GuardStatement {
  const upsert = odds.odds.length > 0 ? oddsUpsertCte(platform, runId, odds) : undefined;
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
               update platform_steps s set status = ?, events_found = ?, duration_ms = ?, error = ?, reason = ?, finished_at = now(),
                 markets_checked = ?, implausible_markets = ?, implausible_examples = ?::jsonb
               ${judged ? `, expected_events = case when usual.scrapes >= ? then round(usual.median)::int end,
                            volume_drop = case when usual.scrapes >= ? then ?::int < usual.median * ? end` : ''}
               ${judged ? 'from usual' : ''}
               where s.run_id = ? and s.platform = ? and s.status = 'running' and ${HOLDS_STEP} and exists (select 1 from lock)
               returning s.expected_events, s.volume_drop
             ),
             kept as (
               update platform_steps s set events_found = ?
               where s.run_id = ? and s.platform = ? and s.status = 'failed' and s.events_found < ? and ${HOLDS_STEP}
             )`,
    params: [
      ...(upsert?.params ?? []),
      ...(judged ? [platform, runId, judge.window] : []),
      outcome,
      eventsFound,
      durationMs,
      error,
      reason,
      markets.checked,
      markets.implausible,
      markets.examples.length > 0 ? JSON.stringify(markets.examples) : null,
      ...(judged ? [judge.minScrapes, judge.minScrapes, eventsFound, judge.fraction] : []), // SET sees the old events_found
      runId,
      platform,
      replica,
      attempt,
      eventsFound,
      runId,
      platform,
      eventsFound,
      replica,
      attempt,
    ],
    endsStep: true,
    ...(judged ? { payload: `select jsonb_build_object('volumeDrop', volume_drop, 'expectedEvents', expected_events) from guard` } : {}),
  };
}
