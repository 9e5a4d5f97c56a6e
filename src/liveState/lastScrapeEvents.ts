import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';

/**
 * The sporting events found by each platform's last successful scrape, exposed as
 * oddswatch_platform_events_last_scrape. Loaded from the database at start-up (so a restart does not
 * blank the gauge), then moved by every successful scrape in this process.
 */
export class LastScrapeEvents {
  private readonly events: Map<string, number>;

  constructor(initial: Iterable<readonly [string, number]> = []) {
    this.events = new Map(initial);
  }

  succeeded(platform: string, eventsFound: number): void {
    this.events.set(platform, eventsFound);
  }

  eventsFound(): ReadonlyMap<string, number> {
    return this.events;
  }
}

/** One indexed look-up per platform ((platform, finished_at) index), newest successful step first. */
export async function loadLastScrapeEvents(orm: Orm, platforms: readonly string[]): Promise<LastScrapeEvents> {
  const rows = await boundRows<{ platform: string; events_found: number | null }>(
    orm,
    `select p.platform, (
       select ps.events_found from platform_steps ps
       where ps.platform = p.platform and ps.status = 'completed' and ps.finished_at is not null
       order by ps.finished_at desc limit 1
     ) as events_found
     from unnest(?::text[]) as p(platform)`,
    [sqlArray(platforms)],
  );
  return new LastScrapeEvents(rows.flatMap((row) => (row.events_found === null ? [] : [[row.platform, row.events_found] as const])));
}
