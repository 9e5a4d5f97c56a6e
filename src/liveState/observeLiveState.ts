import type { Orm } from '../db/database.js';
import type { ProgressBus } from '../runs/progressBus.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Freshness } from './freshness.js';
import type { LastScrapeEvents } from './lastScrapeEvents.js';

/** Points the observable gauges at the live state they report, read at scrape time so they never drift. */
export function observeLiveState(metrics: Metrics, sources: { orm: Orm; bus: ProgressBus; freshness: Freshness; lastScrape: LastScrapeEvents; scheduler: Scheduler }): void {
  metrics.observe({
    sseSubscribers: (stream) => sources.bus.subscriberCount(stream),
    runActivity: () => runActivity(sources.orm),
    lastSuccessSeconds: () => sources.freshness.lastSuccessSeconds(),
    lastScrapeEvents: () => sources.lastScrape.eventsFound(),
    schedulerPaused: () => sources.scheduler.isPaused(),
    schedulerNextRunSeconds: (job) => sources.scheduler.nextRunSeconds(job),
  });
}

/** Active runs and the age of the oldest running one (oddswatch_runs_active, oddswatch_run_oldest_running_age_seconds). */
async function runActivity(orm: Orm): Promise<{ active: number; oldestRunningAgeSeconds: number }> {
  const [row] = await orm.em.getConnection().execute<{ active: number; age: number | null }[]>(
    `select count(*)::int as active, extract(epoch from now() - min(started_at) filter (where status = 'running'))::float8 as age
     from runs where status in ('pending', 'running')`,
    [],
    'all',
  );
  return { active: row?.active ?? 0, oldestRunningAgeSeconds: Math.max(0, row?.age ?? 0) };
}
