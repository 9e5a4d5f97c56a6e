/**
 * The browser's one copy of a run (`RunEntry`) and the pure reducers that keep it current, in place.
 *
 * Events are applied as sent: a lifecycle event carries the run (`run.finished` with its final steps), a platform
 * event carries the run's platforms done/total and the platform's sporting events found. The one judgement left
 * is "already reflected": a REST snapshot read after the stream opened may already contain what a buffered event
 * says (the contract gives snapshots no stream position), so an event that is behind the copy is skipped whole.
 */
import { FAILED_PLATFORMS_LISTED } from '@contract';
import type { PlatformStep, RunDetail, RunStatus, RunSummary, StepStatus, StreamEvent } from '@contract';

/** A run as held by the browser: its summary, and its platform steps once known (null: only a summary was read). */
export type RunEntry = RunSummary & { steps: PlatformStep[] | null };

const RUN_RANK: Record<RunStatus, number> = {
  pending: 0,
  running: 1,
  completed: 2,
  partial: 2,
  failed: 2,
  connection_failed: 2,
  cancelled: 2,
};
const STEP_RANK: Record<StepStatus, number> = { pending: 0, running: 1, completed: 2, failed: 2, skipped: 2 };

export const isTerminalRun = (status: RunStatus): boolean => RUN_RANK[status] === 2;
export const isTerminalStep = (status: StepStatus): boolean => STEP_RANK[status] === 2;
export const hasSteps = (run: RunEntry | null | undefined): run is RunDetail => !!run && run.steps !== null;

export type RunEventOf<T extends StreamEvent['type']> = Extract<StreamEvent, { type: T }>;
export type PlatformEvent = RunEventOf<'platform.started' | 'platform.progress' | 'platform.completed' | 'platform.failed'>;
export type RunLifecycleEvent = RunEventOf<'run.created' | 'run.started' | 'run.finished'>;

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
  'platformsSucceeded', 'platformsFailed', 'failedPlatforms', 'eventsFound', 'createdAt', 'startedAt', 'finishedAt', 'heartbeatAt',
  'durationMs', 'traceId', 'traceUrl',
] as const satisfies readonly (keyof RunSummary)[];

/** Copies only the summary fields (a RunDetail passed as summary must not smuggle its steps along). */
export function toSummary(run: RunSummary): RunSummary {
  const out = {} as Record<string, unknown>;
  for (const key of SUMMARY_KEYS) out[key] = run[key];
  // Every other field is a primitive (works on reactive proxies too); a summary from before failedPlatforms has none.
  out.platforms = [...run.platforms];
  out.failedPlatforms = [...(run.failedPlatforms ?? [])];
  return out as unknown as RunSummary;
}

function emptyStep(platform: string): PlatformStep {
  return { platform, status: 'pending', eventsFound: 0, startedAt: null, finishedAt: null, durationMs: null, error: null, reason: null, volumeDrop: null, expectedEvents: null, implausibleMarkets: null, implausibleExamples: [], frozenBookmakers: null, coverageDrops: null, outlierPrices: null, replica: null, attempt: 1, captured: false };
}

/** A run's steps copied, one per platform, in the run's platform order. */
export function orderedSteps(run: RunDetail): PlatformStep[] {
  const byName = new Map(run.steps.map((s) => [s.platform, { ...s }]));
  const ordered = run.platforms.map((p) => byName.get(p) ?? emptyStep(p));
  for (const s of byName.values()) if (!run.platforms.includes(s.platform)) ordered.push(s);
  return ordered;
}

const stepsOf = (run: RunSummary | RunDetail): PlatformStep[] | null =>
  'steps' in run && Array.isArray(run.steps) ? orderedSteps(run) : null;

/** A new entry from what the server sent (summary or detail). */
export function toEntry(run: RunSummary | RunDetail): RunEntry {
  return { ...toSummary(run), steps: stepsOf(run) };
}

/** How far a run has got: status, then platforms done, then (with steps) how far each step has got. */
function progressOf(run: RunSummary | RunEntry): number[] {
  const steps = 'steps' in run && Array.isArray(run.steps) ? run.steps : [];
  const stepRanks = steps.reduce((sum, s) => sum + STEP_RANK[s.status], 0);
  return [RUN_RANK[run.status], run.platformsDone, stepRanks, run.eventsFound];
}
function compareProgress(a: RunSummary | RunEntry, b: RunSummary | RunEntry): number {
  const pa = progressOf(a);
  const pb = progressOf(b);
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/**
 * Takes a REST snapshot of a run into the copy we hold, whole, unless it is behind it (answered before an event
 * we applied meanwhile). A summary that is ahead of the steps we hold makes those steps unknown.
 */
export function takeSnapshot(target: RunEntry, incoming: RunSummary | RunDetail): void {
  const cmp = compareProgress(incoming, target);
  if (cmp < 0) return;
  const steps = stepsOf(incoming) ?? (cmp > 0 ? null : target.steps);
  const retriedBy = incoming.retriedBy ?? target.retriedBy; // the retry link only ever appears
  Object.assign(target, toSummary(incoming), { retriedBy, steps });
}

/** The copy already reflects this platform event (a snapshot read after it): applying it would go backwards. */
function isBehind(run: RunEntry, ev: PlatformEvent): boolean {
  if (ev.data.platformsDone < run.platformsDone) return true;
  const step = run.steps?.find((s) => s.platform === ev.data.platform);
  if (!step) return false;
  // A step scraped again after its replica died starts over: its new attempt's events come after all of the old one's.
  const attempt = ev.data.attempt ?? 1;
  if (attempt !== step.attempt) return attempt < step.attempt;
  if (isTerminalStep(step.status)) return true;
  return step.status === 'running' && ev.data.eventsFound < step.eventsFound;
}

function applyLifecycle(run: RunEntry, ev: RunLifecycleEvent): void {
  const retriedBy = ev.data.run.retriedBy ?? run.retriedBy;
  switch (ev.type) {
    case 'run.created':
      run.steps ??= orderedSteps(ev.data.run);
      return;
    case 'run.started':
      if (run.status === 'pending') Object.assign(run, toSummary(ev.data.run), { retriedBy });
      return;
    case 'run.finished':
      if (isTerminalRun(run.status)) return; // a terminal status never changes
      Object.assign(run, toSummary(ev.data.run), {
        status: ev.data.status,
        failureReason: ev.data.failureReason,
        retriedBy,
        steps: orderedSteps(ev.data.run),
      });
  }
}

function applyToStep(step: PlatformStep, ev: PlatformEvent): void {
  const d = ev.data;
  if ((d.attempt ?? 1) > step.attempt) Object.assign(step, { attempt: d.attempt, startedAt: null, replica: null });
  step.eventsFound = d.eventsFound;
  step.startedAt ??= new Date(Date.parse(ev.at) - d.elapsedMs).toISOString();
  if (ev.type === 'platform.started' || ev.type === 'platform.progress') {
    step.status = 'running';
    if (ev.type === 'platform.started' && ev.data.replica) step.replica = ev.data.replica;
    return;
  }
  Object.assign(step, { status: ev.type === 'platform.completed' ? 'completed' : 'failed', durationMs: ev.data.durationMs, finishedAt: ev.at });
  if (ev.type === 'platform.failed') Object.assign(step, { error: ev.data.error, reason: ev.data.reason ?? null, captured: ev.data.captured ?? false });
  else Object.assign(step, { volumeDrop: ev.data.volumeDrop ?? null, expectedEvents: ev.data.expectedEvents ?? null, implausibleMarkets: ev.data.implausibleMarkets ?? null });
}

/** Applies one run or platform event of this run to its entry. */
export function applyRunEvent(run: RunEntry, ev: RunLifecycleEvent | PlatformEvent): void {
  if (isRunLifecycleEvent(ev)) return applyLifecycle(run, ev);
  if (isTerminalRun(run.status) || isBehind(run, ev)) return;
  if (run.status === 'pending') run.status = 'running';
  run.platformsDone = ev.data.platformsDone;
  run.platformsTotal = ev.data.platformsTotal;
  if (!run.steps) return; // only the summary is known: the rest arrives with run.finished

  let step = run.steps.find((s) => s.platform === ev.data.platform);
  if (!step) {
    step = emptyStep(ev.data.platform);
    run.steps.push(step);
    if (!run.platforms.includes(step.platform)) run.platforms.push(step.platform);
  }
  applyToStep(step, ev);
  // The server's own definitions: a run's sporting events and outcomes are the sums over its steps.
  run.platformsSucceeded = run.steps.filter((s) => s.status === 'completed').length;
  const failed = run.steps.filter((s) => s.status === 'failed');
  run.platformsFailed = failed.length;
  run.failedPlatforms = failed.slice(0, FAILED_PLATFORMS_LISTED).map((s) => s.platform);
  run.eventsFound = run.steps.reduce((sum, s) => sum + s.eventsFound, 0);
}

/** A run entry built from a lifecycle event, for a run not seen before. */
export function entryFromEvent(ev: RunLifecycleEvent): RunEntry {
  const entry = toEntry(ev.data.run);
  if (ev.type === 'run.finished') Object.assign(entry, { status: ev.data.status, failureReason: ev.data.failureReason });
  return entry;
}
