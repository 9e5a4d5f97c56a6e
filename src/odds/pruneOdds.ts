import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';

/**
 * Retention of odds (for job prune_run_events): deletes the prices a bookmaker has not scraped for over
 * `retentionDays` days, i.e. sporting events it no longer offers. Price history is bounded by the schema
 * itself (one previous price beside each current one), so stale prices are all there is to prune.
 * No index on scraped_at on purpose: every upsert changes it, and an index would cost each page write.
 */
export async function pruneOdds({ orm, logger }: { orm: Orm; logger: Logger }, retentionDays: number): Promise<number> {
  const result = await orm.em.getConnection().execute<{ affectedRows: number }>(
    `delete from odds where scraped_at < now() - make_interval(days => ?)`,
    [retentionDays],
    'run',
  );
  if (result.affectedRows > 0) logger.info({ deleted: result.affectedRows, retention_days: retentionDays }, 'pruned stale odds');
  return result.affectedRows;
}
