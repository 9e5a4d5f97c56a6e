import { boundStatement } from '../../src/db/boundStatement.js';
import type { Orm } from '../../src/db/database.js';
import { oddsUpsertCte } from '../../src/db/tables/odds.js';
import { createSportingEventMatcher } from '../../src/odds/sportingEventMatcher.js';
import type { ScrapedSelection } from '../../src/platforms/adapter.js';

/** A selection as an adapter hands it over; the price text and bookmaker default to the price and the platform. */
export type TestSelection = Omit<ScrapedSelection, 'priceText' | 'bookmaker'> & Partial<Pick<ScrapedSelection, 'priceText' | 'bookmaker'>>;

/**
 * Matches one batch of odds to sporting events and upserts it in a single statement, as a platform step's
 * write does (the runner writes through RunTransitions).
 */
export async function upsertOdds(orm: Orm, platform: string, runId: number, batch: TestSelection[]): Promise<void> {
  if (batch.length === 0) return;
  const selections = batch.map((row): ScrapedSelection => ({ ...row, priceText: row.priceText ?? String(row.price), bookmaker: row.bookmaker ?? platform }));
  const matched = await createSportingEventMatcher(orm).match(platform, selections);
  const cte = oddsUpsertCte(platform, runId, matched);
  await boundStatement(orm, `with ${cte.sql} select 1`, cte.params);
}
