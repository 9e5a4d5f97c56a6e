import type { Config } from '../config.js';
import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import type { RunStatus } from '../shared/contract.js';
import { finishRun, type FinishRunDeps } from './finishRun.js';

export interface DetectStaleRunsDeps extends FinishRunDeps {
  orm: Orm;
  config: Pick<Config, 'staleAfterMs' | 'heartbeatIntervalMs' | 'maxRunDurationMs'>;
}

/**
 * The watchdog (job detect_stale_runs): fails active runs whose heartbeat is older than STALE_AFTER_MS
 * (a run that never wrote one is judged by its start, after a grace of two heartbeat intervals), that
 * run longer than MAX_RUN_DURATION_MS, or that never left `pending`. Terminal runs are never touched.
 */
export async function detectStaleRuns(deps: DetectStaleRunsDeps): Promise<number> {
  const { staleAfterMs, heartbeatIntervalMs, maxRunDurationMs } = deps.config;
  const candidates = await findStaleRuns(deps.orm, { staleAfterMs, neverBeatGraceMs: 2 * heartbeatIntervalMs, maxRunDurationMs });
  let failed = 0;
  for (const candidate of candidates) {
    const run = await finishRun(deps, candidate.id, 'failed', 'stale', {
      actor: 'watchdog',
      from: [candidate.status],
      details: { stale_because: candidate.why, stale_after_ms: staleAfterMs, max_run_duration_ms: maxRunDurationMs },
    });
    if (run) failed += 1;
  }
  return failed;
}

export interface StaleLimits {
  staleAfterMs: number;
  neverBeatGraceMs: number;
  maxRunDurationMs: number;
}

/** Runs the watchdog must fail: heartbeat too old, never started, or running too long. */
export async function findStaleRuns(orm: Orm, limits: StaleLimits): Promise<{ id: number; status: RunStatus; why: string }[]> {
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
