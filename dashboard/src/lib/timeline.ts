/**
 * A run's platform steps laid out on one time axis (the waterfall of the run page and the live run card).
 * Pure: positions are milliseconds from the run's start; the component turns them into percentages.
 */
import type { FailureReason, PlatformStep, RunDetail } from '@contract';
import { formatDuration, plural } from './format';

/** Where a running step's elapsed time was last reported, in local clock terms (no server clock skew). */
export interface StepAnchor {
  elapsedMs: number;
  receivedAt: number;
}

/** `timed_out` is a failed step whose error says so (the contract has no separate status for it). */
export type BarOutcome = 'completed' | 'failed' | 'timed_out' | 'running' | 'pending' | 'skipped';

export interface TimelineBar {
  platform: string;
  outcome: BarOutcome;
  /** From the run's start; null when the step never started. */
  startMs: number | null;
  endMs: number | null;
  eventsFound: number;
  error: string | null;
  /** The replica that scraped it, shortened (shortReplica); null until it started. */
  replica: string | null;
  /** Its attempt: above 1 when the replica scraping it died and the replica that took the run over scraped it again. */
  attempt: number;
  /** One sentence for the tooltip and the screen reader. */
  description: string;
}

/** A replica's id as the run page shows it: its first 8 characters (the full id is in the API and the logs' owner_id). */
export const shortReplica = (replica: string | null): string | null => (replica ? replica.slice(0, 8) : null);

export interface TimelineMarker {
  atMs: number;
  reason: FailureReason;
  label: string;
}

export interface Timeline {
  /** Length of the axis (rounded up to a whole tick). */
  spanMs: number;
  ticks: number[];
  bars: TimelineBar[];
  marker: TimelineMarker | null;
  /** Its steps were scraped by more than one replica: each row names its replica. */
  spread: boolean;
}

const OUTCOME_LABEL: Record<BarOutcome, string> = {
  completed: 'Completed',
  failed: 'Failed',
  timed_out: 'Timed out',
  running: 'Running',
  pending: 'Waiting',
  skipped: 'Skipped',
};
export const barOutcomeLabel = (outcome: BarOutcome): string => OUTCOME_LABEL[outcome];

const MARKER_LABEL: Partial<Record<FailureReason, string>> = {
  connection_lost: 'Connection lost',
  stale: 'Stale: failed by the watchdog',
  interrupted: 'Interrupted',
};

const TICK_STEPS = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];

function outcomeOf(step: PlatformStep): BarOutcome {
  if (step.status === 'failed' && step.error && /timed out/i.test(step.error)) return 'timed_out';
  return step.status;
}

/** Where a step ends on the axis: its saved duration, or (running) how long it has run by the local clock. */
function endOf(step: PlatformStep, startMs: number, t0: number, now: number, anchor: StepAnchor | undefined): number {
  if (step.durationMs != null) return startMs + step.durationMs;
  if (step.finishedAt) return Date.parse(step.finishedAt) - t0;
  if (anchor) return startMs + anchor.elapsedMs + Math.max(0, now - anchor.receivedAt);
  return Math.max(startMs, startMs + now - Date.parse(step.startedAt!));
}

function describe(bar: Omit<TimelineBar, 'description'>): string {
  const parts = [`${bar.platform}: ${OUTCOME_LABEL[bar.outcome]}`];
  if (bar.startMs != null) {
    parts.push(plural(bar.eventsFound, 'sporting event') + (bar.outcome === 'running' ? ' so far' : ''));
    parts.push(`${bar.outcome === 'running' ? 'running for' : 'took'} ${formatDuration((bar.endMs ?? bar.startMs) - bar.startMs)}`);
    parts.push(`started at +${formatDuration(bar.startMs)}`);
    if (bar.replica) parts.push(`on replica ${bar.replica}`);
    if (bar.attempt > 1) parts.push(`attempt ${bar.attempt}: scraped again after the replica scraping it stopped`);
  } else if (bar.outcome === 'skipped') parts.push('not scraped');
  if (bar.error) parts.push(bar.error);
  return parts.join(' · ');
}

export function tickStep(spanMs: number): number {
  return TICK_STEPS.find((step) => spanMs / step <= 6) ?? TICK_STEPS.at(-1)!;
}

export function buildTimeline(run: RunDetail, now: number, anchors: Record<string, StepAnchor> = {}): Timeline {
  const starts = run.steps.filter((s) => s.startedAt).map((s) => Date.parse(s.startedAt!));
  const t0 = Math.min(Date.parse(run.startedAt ?? run.createdAt), ...starts);

  const bars = run.steps.map((step) => {
    const startMs = step.startedAt ? Date.parse(step.startedAt) - t0 : null;
    const endMs = startMs == null ? null : endOf(step, startMs, t0, now, anchors[step.platform]);
    const bar = { platform: step.platform, outcome: outcomeOf(step), startMs, endMs, eventsFound: step.eventsFound, error: step.error, replica: shortReplica(step.replica), attempt: step.attempt ?? 1 };
    return { ...bar, description: describe(bar) };
  });

  const label = run.failureReason ? MARKER_LABEL[run.failureReason] : undefined;
  const marker = label && run.finishedAt ? { atMs: Date.parse(run.finishedAt) - t0, reason: run.failureReason!, label } : null;

  const runEnd = run.finishedAt ? Date.parse(run.finishedAt) - t0 : 0;
  const furthest = Math.max(1000, runEnd, ...bars.map((b) => b.endMs ?? 0));
  const step = tickStep(furthest);
  const spanMs = Math.ceil(furthest / step) * step;
  const ticks = Array.from({ length: Math.round(spanMs / step) + 1 }, (_, i) => i * step);
  const spread = new Set(bars.map((bar) => bar.replica).filter((replica) => replica !== null)).size > 1;
  return { spanMs, ticks, bars, marker, spread };
}

/** "0", "0.5 s", "2 s", "1m 30s" for axis labels. */
export function tickLabel(ms: number): string {
  if (ms === 0) return '0';
  return ms < 60_000 ? `${ms / 1000} s` : formatDuration(ms);
}
