import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import type { ProgressBus } from '../events/index.js';
import { SCRAPE_JOB_ID, type JobId } from '../shared/contract.js';
import type { Metrics } from '../telemetry/metrics.js';
import { DatabaseState } from './databaseState.js';
import type { FrozenBookmakers } from '../quality/frozenBookmakers.js';
import type { BookmakerFreshness } from './bookmakerFreshness.js';
import type { Freshness } from './freshness.js';
import type { LastScrapeEvents } from './lastScrapeEvents.js';

/** What the gauges read of the scheduler (scheduler/scheduler.ts, handed in by server.ts: the scheduler sits above live state). */
export interface ScheduleReadings {
  isPaused(): boolean;
  intervalSeconds(id: JobId): number;
  nextRunSeconds(id: JobId): number | null;
}

/**
 * Points the observable gauges at the live state they report, read at scrape time so they never drift.
 * The database's gauges go through DatabaseState: a scrape never waits long for, or fails with, the database.
 */
export function observeLiveState(
  metrics: Metrics,
  sources: { orm: Orm; bus: ProgressBus; freshness: Freshness; bookmakers: BookmakerFreshness; frozen: FrozenBookmakers; lastScrape: LastScrapeEvents; scheduler: ScheduleReadings; logger: Logger },
): DatabaseState {
  const database = new DatabaseState(sources.orm, sources.logger);
  metrics.observe({
    sseSubscribers: (stream) => sources.bus.subscriberCount(stream),
    runActivity: () => database.runActivity(),
    databaseUp: () => database.isUp,
    lastSuccessSeconds: () => sources.freshness.lastSuccessSeconds(),
    lastScrapeEvents: () => sources.lastScrape.eventsFound(),
    newestPrices: () => sources.bookmakers.newestPrices(),
    frozenBookmakers: () => sources.frozen.states(),
    schedulerPaused: () => sources.scheduler.isPaused(),
    scrapeIntervalSeconds: () => sources.scheduler.intervalSeconds(SCRAPE_JOB_ID),
    schedulerNextRunSeconds: (job) => sources.scheduler.nextRunSeconds(job),
  });
  return database;
}
