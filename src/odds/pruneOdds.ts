import type { Logger } from 'pino';
import { boundRowCount } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';

/**
 * Retention of odds (for job prune_run_events): deletes the prices a bookmaker has not scraped for over
 * `retentionDays` days, i.e. sporting events it no longer offers. Price history is bounded by the schema
 * itself (one previous price beside each current one), so stale prices are all there is to prune.
 * No index on scraped_at on purpose: every upsert changes it, and an index would cost each page write.
 */
export async function pruneOdds({ orm, logger }: { orm: Orm; logger: Logger }, retentionDays: number): Promise<number> {
  const deleted = await boundRowCount(orm, `delete from odds where scraped_at < now() - make_interval(days => ?)`, [retentionDays]);
  if (deleted > 0) logger.info({ deleted, retention_days: retentionDays }, 'pruned stale odds');
  return deleted;
}
