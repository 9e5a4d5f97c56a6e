import type { Orm } from '../db/database.js';
import { selectLastSuccessfulSteps } from '../db/tables/platformSteps.js';

export interface LastSuccessfulStep {
  finishedAt: Date;
  eventsFound: number;
}

/**
 * Each platform's last successful scrape (absent: none), from the database so every replica answers alike. One
 * index look-up per platform ((platform, finished_at), newest first).
 */
export async function lastSuccessfulSteps(orm: Orm, platforms: readonly string[]): Promise<Map<string, LastSuccessfulStep>> {
  const rows = await selectLastSuccessfulSteps(orm, platforms);
  return new Map(
    rows.flatMap((row) => (row.finished_at === null ? [] : [[row.platform, { finishedAt: new Date(row.finished_at), eventsFound: Number(row.events_found) }] as const])),
  );
}
