import type { PlatformStep, RunDetail, RunSummary, SchedulerJob, SchedulerState, StepFailureReason, StreamEvent } from '@contract';

export const PLATFORMS = ['alpha', 'bravo', 'charlie'];

export function makeRun(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    id: 1,
    status: 'running',
    trigger: 'api-stream',
    failureReason: null,
    retryOf: null,
    retriedBy: null,
    platforms: [...PLATFORMS],
    platformsTotal: PLATFORMS.length,
    platformsDone: 0,
    platformsSucceeded: 0,
    platformsFailed: 0,
    eventsFound: 0,
    failedPlatforms: [],
    createdAt: '2026-01-27T16:00:00.000Z',
    startedAt: '2026-01-27T16:00:01.000Z',
    finishedAt: null,
    heartbeatAt: null,
    durationMs: null,
    traceId: null,
    traceUrl: null,
    ...overrides,
  };
}

export function makeStep(platform: string, overrides: Partial<PlatformStep> = {}): PlatformStep {
  return { platform, status: 'pending', eventsFound: 0, startedAt: null, finishedAt: null, durationMs: null, error: null, reason: null, volumeDrop: null, expectedEvents: null, implausibleMarkets: null, implausibleExamples: [], frozenBookmakers: null, coverageDrops: null, outlierPrices: null, replica: null, attempt: 1, captured: false, ...overrides };
}

export function makeDetail(overrides: Partial<RunDetail> = {}): RunDetail {
  const run = makeRun(overrides);
  return { ...run, steps: overrides.steps ?? run.platforms.map((p) => makeStep(p)) };
}

export function makeJob(overrides: Partial<SchedulerJob> & Pick<SchedulerJob, 'id'>): SchedulerJob {
  return { description: overrides.id, intervalSeconds: 300, nextRunAt: null, lastRunAt: null, paused: false, ...overrides };
}

/** Jobs listed watchdog first on purpose: `jobs[0]` would be the wrong job. */
export function makeScheduler(overrides: Partial<SchedulerState> = {}): SchedulerState {
  return {
    paused: false,
    jobs: [
      makeJob({ id: 'detect_stale_runs', intervalSeconds: 120, nextRunAt: '2026-01-27T16:02:00.000Z' }),
      makeJob({ id: 'scrape_all_platforms', intervalSeconds: 900, nextRunAt: '2026-01-27T16:15:00.000Z' }),
    ],
    ...overrides,
  };
}

type Ev<T extends StreamEvent['type']> = Extract<StreamEvent, { type: T }>;

const AT = '2026-01-27T16:00:05.000Z';

const withSteps = (run: RunSummary | RunDetail): RunDetail =>
  'steps' in run ? run : { ...run, steps: run.platforms.map((p) => makeStep(p)) };

/** Where an event sits in the stream: its global id and its run's sequence number. */
interface At {
  id: number;
  seq: number;
}

interface Step extends At {
  runId: number;
  platform: string;
}

/** Stream events with named fields; `platformsTotal` is 3 (PLATFORMS). */
export const ev = {
  /** `run.created` carries the run with its steps (pending ones when `run` has none). */
  created({ id, seq, run }: At & { run: RunSummary | RunDetail }): Ev<'run.created'> {
    return { id, seq, runId: run.id, type: 'run.created', at: AT, data: { runId: run.id, platformsDone: run.platformsDone, platformsTotal: run.platformsTotal, run: withSteps(run) } };
  },
  started({ id, seq, run }: At & { run: RunSummary }): Ev<'run.started'> {
    return { id, seq, runId: run.id, type: 'run.started', at: AT, data: { runId: run.id, platformsDone: run.platformsDone, platformsTotal: run.platformsTotal, run } };
  },
  platformStarted({ id, seq, runId, platform, platformsDone = 0, elapsedMs = 0, attempt, replica }: Step & { platformsDone?: number; elapsedMs?: number; attempt?: number; replica?: string }): Ev<'platform.started'> {
    return { id, seq, runId, type: 'platform.started', at: AT, data: { runId, platform, platformsDone, platformsTotal: 3, eventsFound: 0, elapsedMs, ...(attempt ? { attempt } : {}), ...(replica ? { replica } : {}) } };
  },
  progress({ id, seq, runId, platform, eventsFound, elapsedMs = 500, platformsDone = 0, attempt }: Step & { eventsFound: number; elapsedMs?: number; platformsDone?: number; attempt?: number }): Ev<'platform.progress'> {
    return { id, seq, runId, type: 'platform.progress', at: AT, data: { runId, platform, platformsDone, platformsTotal: 3, eventsFound, elapsedMs, ...(attempt ? { attempt } : {}) } };
  },
  /** `elapsedMs` is `durationMs`. */
  completed({ id, seq, runId, platform, platformsDone, eventsFound, durationMs = 1200 }: Step & { platformsDone: number; eventsFound: number; durationMs?: number }): Ev<'platform.completed'> {
    return { id, seq, runId, type: 'platform.completed', at: AT, data: { runId, platform, platformsDone, platformsTotal: 3, eventsFound, elapsedMs: durationMs, durationMs } };
  },
  /** Without `reason`: an event recorded before steps had one; `captured` likewise. */
  failed({ id, seq, runId, platform, platformsDone, error, reason, captured }: Step & { platformsDone: number; error: string; reason?: StepFailureReason | null; captured?: boolean }): Ev<'platform.failed'> {
    const data = { runId, platform, platformsDone, platformsTotal: 3, eventsFound: 0, elapsedMs: 900, durationMs: 900, error };
    return { id, seq, runId, type: 'platform.failed', at: AT, data: { ...data, ...(reason === undefined ? {} : { reason }), ...(captured === undefined ? {} : { captured }) } };
  },
  /** `run.finished` carries the run with its final steps, as the service sends it (src/runs/finishRun.ts). */
  finished({ id, seq, run }: At & { run: RunDetail }): Ev<'run.finished'> {
    const status = run.status as Ev<'run.finished'>['data']['status'];
    return { id, seq, runId: run.id, type: 'run.finished', at: AT, data: { runId: run.id, platformsDone: run.platformsDone, platformsTotal: run.platformsTotal, run, status, failureReason: run.failureReason } };
  },
  scheduler({ id, scheduler }: { id: number; scheduler: SchedulerState }): Ev<'scheduler.changed'> {
    return { id, seq: null, runId: null, type: 'scheduler.changed', at: AT, data: { scheduler } };
  },
  resync(): Ev<'resync'> {
    return { id: 0, seq: null, runId: null, type: 'resync', at: AT, data: { reason: 'cursor_too_old' } };
  },
};
