import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { boundRowCount } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { deleteCapturesOfRunsFinishedBefore } from '../db/tables/stepCaptures.js';

export interface PruneRunEventsDeps {
  orm: Orm;
  logger: Logger;
  config: Pick<Config, 'eventRetentionDays'>;
}

/** What retention deleted. */
export interface PrunedRunEvents {
  events: number;
  /** Pages at failure of failed browser steps (step_captures). */
  captures: number;
}

/**
 * Retention (job prune_run_events): deletes the progress events of runs that finished more than
 * EVENT_RETENTION_DAYS ago, and scheduler events as old, and by the same rule the pages at failure of their
 * steps. Runs, their platform steps and odds stay; a stream opened on such a run answers 204 (nothing to replay).
 */
export async function pruneRunEvents(deps: PruneRunEventsDeps): Promise<PrunedRunEvents> {
  const days = deps.config.eventRetentionDays;
  const events = await boundRowCount(
    deps.orm,
    `delete from run_events e
     where (e.run_id is null and e.created_at < now() - make_interval(days => ?))
        or e.run_id in (select r.id from runs r where r.finished_at < now() - make_interval(days => ?))`,
    [days, days],
  );
  const captures = await deleteCapturesOfRunsFinishedBefore(deps.orm, days);
  if (events > 0 || captures > 0) deps.logger.info({ deleted: events, captures_deleted: captures, retention_days: days }, 'pruned old run events');
  return { events, captures };
}
