import type { PlatformScrape, RunHistoryPoint } from '@contract';
import { formatDateTime, formatDuration, plural } from './format';

/** Layout of the hand-drawn trend charts (components/TrendChart.vue): pure, no Vue. */

/** ok: a dot; warn: a square (a partial run); failed: a cross. `flag` adds a triangle above (volume drop). */
export type PointKind = 'ok' | 'warn' | 'failed';

export interface ChartPoint {
  id: number;
  value: number | null;
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
  /** Extra space on the left (for the axis label). */
  left?: number;
}

/** One x slot per point, evenly spaced by order (one point per scrape), y from 0 to the largest value. */
export function place(points: ChartPoint[], frame: Frame): { placed: PlacedPoint[]; max: number } {
  const { width, height, pad } = frame;
  const left = pad + (frame.left ?? 0);
  const max = Math.max(0, ...points.map((p) => p.value ?? 0));
  const step = points.length > 1 ? (width - left - pad) / (points.length - 1) : 0;
  const baseline = height - pad;
  const placed = points.map((p, i) => ({
    ...p,
    x: points.length > 1 ? left + i * step : (left + width - pad) / 2,
    y: p.value == null ? null : max > 0 ? baseline - (p.value / max) * (height - 2 * pad) : baseline,
    baseline,
  }));
  return { placed, max };
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
    kind: s.outcome === 'completed' ? 'ok' : 'failed',
    flag: s.volumeDrop === true,
    label: `Run #${s.runId}, ${formatDateTime(s.finishedAt)}: ${metricText(metric, s[metric])}, ${OUTCOME_TEXT[s.outcome]}${s.volumeDrop ? ', volume drop' : ''}`,
  }));
}

export function runPoints(runs: RunHistoryPoint[]): ChartPoint[] {
  return runs.map((r) => ({
    id: r.id,
    value: r.durationMs,
    kind: r.status === 'completed' ? 'ok' : r.status === 'partial' ? 'warn' : 'failed',
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
  return parts.join(', ');
}

export const formatMetric = (metric: ScrapeMetric) => (v: number | null) => metricText(metric, v);
