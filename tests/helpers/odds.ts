import { boundStatement } from '../../src/db/boundStatement.js';
import type { Orm } from '../../src/db/database.js';
import type { ScrapedSelection } from '../../src/platforms/adapter.js';
import { oddsUpsertCte } from '../../src/db/tables/odds.js';

/** Upserts one batch of odds in a single statement, as a platform step's write does (the runner writes through RunTransitions). */
export async function upsertOdds(orm: Orm, platform: string, runId: number, batch: ScrapedSelection[]): Promise<void> {
  if (batch.length === 0) return;
  const cte = oddsUpsertCte(platform, runId, batch);
  await boundStatement(orm, `with ${cte.sql} select 1`, cte.params);
}
