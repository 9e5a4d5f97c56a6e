/**
 * Pure reducers that apply one stream event to a run summary or a run detail, in place.
 *
 * They are monotonic on purpose: a run never goes back from terminal to active or from running to pending,
 * a platform step never goes back from done to active, counts never shrink. A REST snapshot may already
 * contain what a late (replayed) event says, and the contract gives no snapshot sequence number to compare
 * against, so applying an already-reflected event must change nothing.
 */
import type { PlatformStep, RunDetail, RunStatus, RunSummary, StepStatus, StreamEvent } from '@contract';

const RUN_RANK: Record<RunStatus, number> = {
  pending: 0,
  running: 1,
  completed: 2,
  partial: 2,
  failed: 2,
  connection_failed: 2,
};
const STEP_RANK: Record<StepStatus, number> = { pending: 0, running: 1, completed: 2, failed: 2, skipped: 2 };

export const isTerminalRun = (status: RunStatus): boolean => RUN_RANK[status] === 2;
export const isTerminalStep = (status: StepStatus): boolean => STEP_RANK[status] === 2;

export type RunEventOf<T extends StreamEvent['type']> = Extract<StreamEvent, { type: T }>;
type PlatformEvent = RunEventOf<'platform.started' | 'platform.progress' | 'platform.completed' | 'platform.failed'>;
type RunLifecycleEvent = RunEventOf<'run.created' | 'run.started' | 'run.finished'>;

export function isPlatformEvent(ev: StreamEvent): ev is PlatformEvent {
  return ev.type.startsWith('platform.');
}
export function isRunLifecycleEvent(ev: StreamEvent): ev is RunLifecycleEvent {
  return ev.type === 'run.created' || ev.type === 'run.started' || ev.type === 'run.finished';
}
/** The run an event belongs to (null for scheduler/resync events). */
export function runIdOf(ev: StreamEvent): number | null {
  if (ev.runId != null) return ev.runId;
  if (isRunLifecycleEvent(ev) || isPlatformEvent(ev)) return ev.data.runId;
  return null;
}

const SUMMARY_KEYS = [
  'id', 'status', 'trigger', 'failureReason', 'retryOf', 'retriedBy', 'platforms', 'platformsTotal', 'platformsDone',
  'platformsSucceeded', 'platformsFailed', 'eventsFound', 'createdAt', 'startedAt', 'finishedAt', 'heartbeatAt',
  'durationMs', 'traceId', 'traceUrl',
] as const satisfies readonly (keyof RunSummary)[];

/** Copies only the summary fields (a RunDetail passed as summary must not smuggle its steps along). */
export function toSummary(run: RunSummary): RunSummary {
  const out = {} as Record<string, unknown>;
  for (const key of SUMMARY_KEYS) out[key] = run[key];
  out.platforms = [...run.platforms]; // every other field is a primitive (works on reactive proxies too)
  return out as unknown as RunSummary;
}

/**
 * Merges a newer-or-older copy of a run into the one we hold.
 * Returns false (and changes nothing) when the incoming copy is behind what we already show.
 */
export function mergeSummary(target: RunSummary, incoming: RunSummary): boolean {
  const have = RUN_RANK[target.status];
  const got = RUN_RANK[incoming.status];
  if (got < have) return false;
  if (have === 2 && got === 2 && target.status !== incoming.status) return false; // terminal never changes
  const sameActivePhase = got === have && got < 2;
  const next = toSummary(incoming);
  if (sameActivePhase) {
    next.platformsDone = Math.max(target.platformsDone, next.platformsDone);
    next.platformsSucceeded = Math.max(target.platformsSucceeded, next.platformsSucceeded);
    next.platformsFailed = Math.max(target.platformsFailed, next.platformsFailed);
    next.eventsFound = Math.max(target.eventsFound, next.eventsFound);
  }
  // The retry link only ever appears, never disappears.
  next.retriedBy = next.retriedBy ?? target.retriedBy;
  Object.assign(target, next);
  return true;
}

/** Applies a run or platform event to a summary (no steps known). Returns whether anything changed. */
export function applyEventToSummary(summary: RunSummary, ev: StreamEvent): boolean {
  if (isRunLifecycleEvent(ev)) {
    const incoming = ev.type === 'run.finished'
      ? { ...ev.data.run, status: ev.data.status, failureReason: ev.data.failureReason }
      : ev.data.run;
    return mergeSummary(summary, incoming);
  }
  if (!isPlatformEvent(ev) || isTerminalRun(summary.status)) return false;
  const d = ev.data;
  let changed = false;
  if (summary.status === 'pending') {
    summary.status = 'running';
    changed = true;
  }
  if (d.platformsTotal !== summary.platformsTotal) {
    summary.platformsTotal = d.platformsTotal;
    changed = true;
  }
  // A finishing event moves platformsDone forward exactly once; only then do the other counters move.
  if ((ev.type === 'platform.completed' || ev.type === 'platform.failed') && d.platformsDone > summary.platformsDone) {
    summary.platformsDone = d.platformsDone;
    if (ev.type === 'platform.completed') summary.platformsSucceeded += 1;
    else summary.platformsFailed += 1;
    summary.eventsFound += d.eventsFound;
    changed = true;
  }
  return changed;
}

function emptyStep(platform: string): PlatformStep {
  return { platform, status: 'pending', eventsFound: 0, startedAt: null, finishedAt: null, durationMs: null, error: null };
}

/** Applies a run or platform event to a run with its steps. Returns whether anything changed. */
export function applyEventToDetail(detail: RunDetail, ev: StreamEvent): boolean {
  if (isRunLifecycleEvent(ev)) {
    const changed = applyEventToSummary(detail, ev);
    for (const platform of detail.platforms) {
      if (!detail.steps.some((s) => s.platform === platform)) detail.steps.push(emptyStep(platform));
    }
    if (changed && ev.type === 'run.finished') {
      // Platforms that never started were not scraped: the server reports them as skipped.
      for (const step of detail.steps) if (step.status === 'pending') step.status = 'skipped';
    }
    return changed;
  }
  if (!isPlatformEvent(ev) || isTerminalRun(detail.status)) return false;
  const d = ev.data;
  let step = detail.steps.find((s) => s.platform === d.platform);
  if (!step) {
    step = emptyStep(d.platform);
    detail.steps.push(step);
    if (!detail.platforms.includes(d.platform)) detail.platforms.push(d.platform);
  }
  if (isTerminalStep(step.status)) return false;

  const startedAt = new Date(Date.parse(ev.at) - d.elapsedMs).toISOString();
  switch (ev.type) {
    case 'platform.started':
    case 'platform.progress':
      step.status = 'running';
      step.startedAt ??= startedAt;
      step.eventsFound = Math.max(step.eventsFound, d.eventsFound);
      break;
    case 'platform.completed':
      Object.assign(step, { status: 'completed', eventsFound: d.eventsFound, durationMs: ev.data.durationMs, finishedAt: ev.at });
      step.startedAt ??= startedAt;
      break;
    case 'platform.failed':
      Object.assign(step, {
        status: 'failed',
        eventsFound: d.eventsFound,
        durationMs: ev.data.durationMs,
        finishedAt: ev.at,
        error: ev.data.error,
      });
      step.startedAt ??= startedAt;
      break;
  }
  if (detail.status === 'pending') detail.status = 'running';
  detail.platformsTotal = Math.max(d.platformsTotal, detail.steps.length);
  const succeeded = detail.steps.filter((s) => s.status === 'completed').length;
  const failed = detail.steps.filter((s) => s.status === 'failed').length;
  detail.platformsSucceeded = Math.max(detail.platformsSucceeded, succeeded);
  detail.platformsFailed = Math.max(detail.platformsFailed, failed);
  detail.platformsDone = Math.max(detail.platformsDone, d.platformsDone, succeeded + failed);
  detail.eventsFound = Math.max(
    detail.eventsFound,
    detail.steps.reduce((sum, s) => sum + s.eventsFound, 0),
  );
  return true;
}

/** Makes sure a detail has one step per platform, in the run's platform order. */
export function normaliseDetail(detail: RunDetail): RunDetail {
  const copy: RunDetail = { ...toSummary(detail), steps: detail.steps.map((s) => ({ ...s })) };
  const byName = new Map(copy.steps.map((s) => [s.platform, s]));
  const ordered = copy.platforms.map((p) => byName.get(p) ?? emptyStep(p));
  for (const s of copy.steps) if (!copy.platforms.includes(s.platform)) ordered.push(s);
  copy.steps = ordered;
  return copy;
}

/**
 * Merges a REST snapshot of a run (with steps) into the copy we hold, never moving anything backwards:
 * a snapshot answered just before an event we already applied must not undo it.
 */
export function mergeDetail(target: RunDetail, incoming: RunDetail): void {
  mergeSummary(target, incoming);
  for (const step of normaliseDetail(incoming).steps) {
    const have = target.steps.find((s) => s.platform === step.platform);
    if (!have) {
      target.steps.push({ ...step });
      continue;
    }
    const rankHave = STEP_RANK[have.status];
    const rankGot = STEP_RANK[step.status];
    if (rankGot > rankHave || (rankGot === rankHave && (rankGot < 2 || have.status === step.status))) {
      const eventsFound = rankGot === rankHave && rankGot < 2 ? Math.max(have.eventsFound, step.eventsFound) : step.eventsFound;
      Object.assign(have, step, { eventsFound, startedAt: step.startedAt ?? have.startedAt });
    }
  }
  if (incoming.platforms.length) {
    const order = new Map(incoming.platforms.map((p, i) => [p, i]));
    target.steps.sort((a, b) => (order.get(a.platform) ?? 1e9) - (order.get(b.platform) ?? 1e9));
  }
}
