import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';

export interface LastSuccessfulStep {
  finishedAt: Date;
  eventsFound: number;
}

/**
 * Each platform's last successful scrape (absent: none), from the database so every replica answers alike. One
 * index look-up per platform ((platform, finished_at), newest first).
 */
export async function lastSuccessfulSteps(orm: Orm, platforms: readonly string[]): Promise<Map<string, LastSuccessfulStep>> {
  const rows = await boundRows<{ platform: string; finished_at: Date | string | null; events_found: number | null }>(
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
  return new Map(
    rows.flatMap((row) => (row.finished_at === null ? [] : [[row.platform, { finishedAt: new Date(row.finished_at), eventsFound: Number(row.events_found) }] as const])),
  );
}
