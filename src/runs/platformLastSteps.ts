import type { Orm } from '../db/database.js';
import { selectLastOutcomes } from '../db/tables/platformSteps.js';
import { toHealth } from '../history/scrapeHistory.js';
import type { PlatformHealth } from '../shared/contract.js';

export interface PlatformLastStep {
  platform: string;
  runId: number;
  status: 'completed' | 'failed';
  finishedAt: Date;
  eventsFound: number;
  lastSuccessAt: Date | null;
  /** Its failure rate over its last scrapes and its last error (GET /api/platforms). */
  health: PlatformHealth;
}

/** Each platform's last finished step, its last success and its health (GET /api/platforms). */
export async function platformLastSteps(orm: Orm): Promise<PlatformLastStep[]> {
  const rows = await selectLastOutcomes(orm);
  return rows.map((row) => ({
    platform: row.platform,
    runId: Number(row.run_id),
    status: row.status,
    finishedAt: new Date(row.finished_at),
    eventsFound: row.events_found,
    lastSuccessAt: row.last_success_at === null ? null : new Date(row.last_success_at),
    health: toHealth(row),
  }));
}
