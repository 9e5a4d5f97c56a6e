import type { Orm } from '../db/database.js';
import { selectPlatformHealth, selectPlatformScrapes, type HealthRow } from '../db/tables/platformSteps.js';
import { selectFinishedRuns } from '../db/tables/runs.js';
import type { PlatformHealth, PlatformScrape, RunHistoryPoint } from '../shared/contract.js';

/**
 * Bounded series for trend charts, served by the API so the browser never pages through runs:
 * a platform's last finished scrapes and the last finished runs, both oldest first.
 */

type Timestamp = Date | string;
const iso = (value: Timestamp) => new Date(value).toISOString();

export async function platformHistory(orm: Orm, platform: string, limit: number): Promise<PlatformScrape[]> {
  const rows = await selectPlatformScrapes(orm, platform, limit);
  return rows.map((row) => ({
    runId: Number(row.run_id),
    startedAt: row.started_at === null ? null : iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: row.duration_ms,
    eventsFound: row.events_found,
    outcome: row.outcome,
    hasError: row.error !== null,
    error: row.error,
    reason: row.reason,
    volumeDrop: row.volume_drop,
  }));
}

/** PlatformHealth from its columns (db/tables/platformSteps.ts). */
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
        : { message: row.last_error, at: iso(row.last_error_at), runId: Number(row.last_error_run_id), outcome: row.last_error_outcome ?? 'failed', reason: row.last_error_reason },
  };
}

/** One platform's health (GET /api/platforms/:name/history). */
export async function platformHealth(orm: Orm, platform: string): Promise<PlatformHealth> {
  return toHealth(await selectPlatformHealth(orm, platform));
}

export async function runHistory(orm: Orm, limit: number): Promise<RunHistoryPoint[]> {
  const rows = await selectFinishedRuns(orm, limit);
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
