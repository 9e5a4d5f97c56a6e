import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import { createJobs } from '../scheduler/jobs.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { RunEngine } from './runs.js';

/** The job table over the run engine's use cases, and the scheduler that ticks it (started, not yet led). */
export async function startScheduler({ config, orm, runs, metrics, logger }: { config: Config; orm: Orm; runs: RunEngine; metrics: Metrics; logger: Logger }): Promise<Scheduler> {
  const jobs = createJobs({
    startRun: (request) => runs.start(request),
    detectStaleRuns: () => runs.detectStale(),
    pruneRunEvents: () => runs.pruneEvents(),
    pruneOdds: () => runs.pruneOdds(config.eventRetentionDays),
    metrics,
    logger,
    config,
  });
  const scheduler = new Scheduler(
    orm,
    jobs,
    logger,
    async (state) => {
      await runs.events.record(null, 'scheduler.changed', { scheduler: state });
    },
    (job) => metrics.tickSkipped(job),
  );
  await scheduler.start(config.schedulerEnabled);
  return scheduler;
}
