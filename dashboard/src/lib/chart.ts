import type { PlatformScrape, RunHistoryPoint } from '@contract';
import { formatDateTime, formatDuration, plural } from './format';

/** Layout of the hand-drawn trend charts (components/TrendChart.vue): pure, no Vue. */

/** ok: a dot; warn: a square (a partial run); failed: a cross; stopped: a hollow dot (a cancelled run, no failure). `flag` adds a triangle above (volume drop). */
export type PointKind = 'ok' | 'warn' | 'failed' | 'stopped';

export interface ChartPoint {
  id: number;
  value: number | null;
  /** When the point happened (ISO): the time axis. */
  at: string | null;
  kind: PointKind;
  flag: boolean;
  /** One line of text for the point (tooltip and text alternative). */
  label: string;
}

export interface PlacedPoint extends ChartPoint {
  x: number;
  /** Null when the point has no value (drawn on the baseline). */
  y: number | null;
  baseline: number;
}

export interface Frame {
  width: number;
  height: number;
  /** Space kept free around the plot (markers overhang their point). */
  pad: number;
  /** Extra space on the left (for the value axis labels). */
  left?: number;
  /** Extra space at the bottom (for the time axis labels). */
  bottom?: number;
}

/** One x slot per point, evenly spaced by order (one point per scrape), y from 0 to the largest value. */
export function place(points: ChartPoint[], frame: Frame): { placed: PlacedPoint[]; max: number; baseline: number } {
  const { width, pad } = frame;
  const left = pad + (frame.left ?? 0);
  const max = Math.max(0, ...points.map((p) => p.value ?? 0));
  const step = points.length > 1 ? (width - left - pad) / (points.length - 1) : 0;
  const baseline = frame.height - pad - (frame.bottom ?? 0);
  const placed = points.map((p, i) => ({
    ...p,
    x: points.length > 1 ? left + i * step : (left + width - pad) / 2,
    y: p.value == null ? null : max > 0 ? baseline - (p.value / max) * (baseline - pad) : baseline,
    baseline,
  }));
  return { placed, max, baseline };
}

/** The point nearest to `x` (viewBox units) by its slot, or -1 without points: what the pointer is over. */
export function nearestIndex(placed: PlacedPoint[], x: number): number {
  let best = -1;
  for (let i = 0; i < placed.length; i++) if (best < 0 || Math.abs(placed[i]!.x - x) < Math.abs(placed[best]!.x - x)) best = i;
  return best;
}

/**
 * The point a key moves to on a focused chart (arrows step, Home/End jump; Escape clears: null); `undefined` when
 * the key is not the chart's. From nothing, any step starts at the newest point.
 */
export function keyStep(key: string, current: number | null, count: number): number | null | undefined {
  if (count === 0) return undefined;
  const last = count - 1;
  switch (key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      return current === null ? last : Math.max(0, current - 1);
    case 'ArrowRight':
    case 'ArrowUp':
      return current === null ? last : Math.min(last, current + 1);
    case 'Home':
      return 0;
    case 'End':
      return last;
    case 'Escape':
      return null;
    default:
      return undefined;
  }
}

const MINUTE = 60_000;
// 24-hour clock on the axes: short enough for a sparkline's ends, and unambiguous.
const axisSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const axisMinutes = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const axisDays = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

const timesOf = (points: ChartPoint[]) => points.map((p) => (p.at ? Date.parse(p.at) : NaN)).filter((t) => Number.isFinite(t));

/** How a series' times read on its axis: seconds within 10 minutes, minutes within a day, else dates. */
export function axisTimeFormat(points: ChartPoint[]): (iso: string) => string {
  const times = timesOf(points);
  const span = times.length ? Math.abs(times.at(-1)! - times[0]!) : 0;
  const format = span < 10 * MINUTE ? axisSeconds : span < 24 * 60 * MINUTE ? axisMinutes : axisDays;
  return (iso) => format.format(Date.parse(iso));
}

/** The first and last times of a series as its time axis labels them (null without times). */
export function timeExtremes(points: ChartPoint[]): { start: string; end: string } | null {
  const times = timesOf(points);
  if (times.length === 0) return null;
  const format = axisTimeFormat(points);
  return { start: format(new Date(times[0]!).toISOString()), end: format(new Date(times.at(-1)!).toISOString()) };
}

/** The SVG path through the points that have a value. */
export function linePath(placed: PlacedPoint[]): string {
  return placed
    .filter((p) => p.y != null)
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)} ${p.y!.toFixed(1)}`)
    .join(' ');
}

export type ScrapeMetric = 'durationMs' | 'eventsFound';
const metricText = (metric: ScrapeMetric, value: number | null) =>
  metric === 'durationMs' ? formatDuration(value) : value == null ? '—' : plural(value, 'sporting event');

export const OUTCOME_TEXT = { completed: 'completed', failed: 'failed', timeout: 'timed out', aborted: 'aborted' } as const;

export function scrapePoints(scrapes: PlatformScrape[], metric: ScrapeMetric): ChartPoint[] {
  return scrapes.map((s) => ({
    id: s.runId,
    value: s[metric],
    at: s.finishedAt,
    kind: s.outcome === 'completed' ? 'ok' : 'failed',
    flag: s.volumeDrop === true,
    label: `Run #${s.runId}, ${formatDateTime(s.finishedAt)}: ${metricText(metric, s[metric])}, ${OUTCOME_TEXT[s.outcome]}${s.volumeDrop ? ', volume drop' : ''}`,
  }));
}

export function runPoints(runs: RunHistoryPoint[]): ChartPoint[] {
  return runs.map((r) => ({
    id: r.id,
    value: r.durationMs,
    at: r.finishedAt,
    kind: r.status === 'completed' ? 'ok' : r.status === 'partial' ? 'warn' : r.status === 'cancelled' ? 'stopped' : 'failed',
    flag: false,
    label: `Run #${r.id}, ${formatDateTime(r.finishedAt)}: ${formatDuration(r.durationMs)}, ${r.status.replace('_', ' ')}`,
  }));
}

/** A sentence summing a series up, for the chart's accessible name. */
export function summarise(points: ChartPoint[], what: string, format: (v: number | null) => string): string {
  if (points.length === 0) return `${what}: no data yet`;
  const values = points.map((p) => p.value).filter((v): v is number => v != null).sort((a, b) => a - b);
  const median = values.length ? values[Math.floor(values.length / 2)]! : null;
  const failed = points.filter((p) => p.kind === 'failed').length;
  const flagged = points.filter((p) => p.flag).length;
  const parts = [
    `${what}, last ${points.length}: latest ${format(points.at(-1)!.value)}`,
    `median ${format(median)}`,
    `max ${format(values.at(-1) ?? null)}`,
    plural(failed, 'failure'),
  ];
  if (flagged) parts.push(plural(flagged, 'volume drop'));
  const times = timeExtremes(points);
  if (times && points.length > 1) parts.push(`from ${times.start} to ${times.end}`);
  return parts.join(', ');
}

export const formatMetric = (metric: ScrapeMetric) => (v: number | null) => metricText(metric, v);
