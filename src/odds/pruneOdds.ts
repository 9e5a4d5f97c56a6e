import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { deleteBookmakersWithoutPrices } from '../db/tables/bookmakerQuality.js';
import { deleteStaleOdds } from '../db/tables/odds.js';
import { deleteListingsWithoutOdds } from '../db/tables/eventListings.js';
import { deleteSportingEventsWithoutListings } from '../db/tables/sportingEvents.js';

/**
 * Retention of odds (for job prune_run_events): deletes the prices a bookmaker has not scraped for over
 * `retentionDays` days, i.e. sporting events it no longer offers, then the listings of sporting events a
 * platform no longer has a price for (event_listings), then the sporting events no listing points at, then the
 * quality rows of bookmakers whose prices are all gone (bookmaker_quality). Price history is bounded by the
 * schema itself (one previous price beside each current one), so stale prices are all there is to prune.
 * No index on scraped_at on purpose: every upsert changes it, and an index would cost each page write.
 * A listing outlives its prices only between the two statements (or until the next prune if the second
 * fails); search joins names to prices, so such a row is never shown. A prune that races a run bringing a
 * pruned sporting event back can delete the name the run just wrote: search misses that sporting event
 * until the bookmaker's next scrape writes its name again.
 */
export async function pruneOdds({ orm, logger }: { orm: Orm; logger: Logger }, retentionDays: number): Promise<number> {
  const deleted = await deleteStaleOdds(orm, retentionDays);
  const listings = await deleteListingsWithoutOdds(orm);
  const sportingEvents = await deleteSportingEventsWithoutListings(orm);
  const bookmakers = await deleteBookmakersWithoutPrices(orm, retentionDays);
  if (deleted > 0 || listings > 0 || sportingEvents > 0 || bookmakers > 0) {
    logger.info({ deleted, listings_deleted: listings, sporting_events_deleted: sportingEvents, bookmakers_deleted: bookmakers, retention_days: retentionDays }, 'pruned stale odds');
  }
  return deleted;
}
