import type { SpanContext } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { PrunedRunEvents } from '../runs/pruneRunEvents.js';
import type { StartRunRequest } from '../runs/startRun.js';
import { RETENTION_JOB_ID, SCRAPE_JOB_ID, WATCHDOG_JOB_ID, type JobId, type RunDetail } from '../shared/contract.js';
import type { Metrics } from '../telemetry/metrics.js';

/** Who runs a job: its timer, or an operator through POST /api/scheduler/jobs/:id/run. */
export type JobOrigin = { by: 'schedule' } | { by: 'operator'; requestSpan?: SpanContext };

/** What one run of a job did: its result (the run-now response), or why it was skipped. */
export type JobOutcome =
  | { kind: 'done'; summary: string; result: Record<string, unknown>; accepted: boolean }
  | { kind: 'skipped'; summary: string; because: AppError };

/** A job of the table: what it does, and whether an operator may pause it. */
export interface JobDefinition {
  id: JobId;
  description: string;
  defaultIntervalSeconds: number;
  pausable: boolean;
  run(origin: JobOrigin): Promise<JobOutcome>;
}

export interface JobDeps {
  startRun(request: StartRunRequest): Promise<RunDetail>;
  detectStaleRuns(): Promise<number>;
  pruneRunEvents(): Promise<PrunedRunEvents>;
  pruneOdds(): Promise<number>;
  metrics: Pick<Metrics, 'tickSkipped'>;
  logger: Logger;
  config: Pick<Config, 'scrapeIntervalSeconds' | 'watchdogIntervalSeconds' | 'eventRetentionDays'>;
}

const RETENTION_INTERVAL_SECONDS = 3600;

/** The one job table, used by the timers and by run-now alike. */
export function createJobs(deps: JobDeps): JobDefinition[] {
  return [
    {
      id: SCRAPE_JOB_ID,
      description: 'Scrape every configured platform',
      defaultIntervalSeconds: deps.config.scrapeIntervalSeconds,
      pausable: true,
      run: (origin) => scrapeAllPlatforms(deps, origin),
    },
    {
      id: WATCHDOG_JOB_ID,
      description: 'Fail runs that stopped making progress (stale)',
      defaultIntervalSeconds: deps.config.watchdogIntervalSeconds,
      pausable: false,
      run: async () => {
        const staleRunsFailed = await deps.detectStaleRuns();
        return { kind: 'done', summary: `failed ${staleRunsFailed} stale runs`, result: { staleRunsFailed }, accepted: false };
      },
    },
    {
      id: RETENTION_JOB_ID,
      description: `Delete progress events and page captures of runs finished, and odds not scraped, over ${deps.config.eventRetentionDays} days ago`,
      defaultIntervalSeconds: RETENTION_INTERVAL_SECONDS,
      pausable: false,
      run: async () => {
        const { events: eventsDeleted, captures: capturesDeleted } = await deps.pruneRunEvents();
        const oddsDeleted = await deps.pruneOdds();
        return {
          kind: 'done',
          summary: `deleted ${eventsDeleted} events, ${capturesDeleted} page captures and ${oddsDeleted} odds`,
          result: { eventsDeleted, capturesDeleted, oddsDeleted },
          accepted: false,
        };
      },
    },
  ];
}

/** Starts a run; while another is active the job is skipped (counted, logged), never queued. */
async function scrapeAllPlatforms(deps: JobDeps, origin: JobOrigin): Promise<JobOutcome> {
  try {
    const run = await deps.startRun(
      origin.by === 'schedule' ? { trigger: 'scheduled' } : { trigger: 'api', requestSpan: origin.requestSpan },
    );
    return { kind: 'done', summary: `started run ${run.id}`, result: { run }, accepted: true };
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'run_active')) throw error;
    deps.metrics.tickSkipped(SCRAPE_JOB_ID);
    const activeRunId = (error.details as { activeRunId: number | null }).activeRunId;
    deps.logger.info({ job: SCRAPE_JOB_ID, by: origin.by, active_run_id: activeRunId }, 'scrape skipped: a run is active');
    return { kind: 'skipped', summary: `skipped: run ${activeRunId} is active`, because: error };
  }
}
