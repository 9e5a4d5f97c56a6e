/**
 * A trace's spans laid out as a waterfall (the trace page): parent before children, children by start, each row
 * with its depth and its bar as percentages of the trace's length. Pure; the view only renders the rows.
 */
import type { TraceSpan } from '@contract';
import { formatDuration } from './format';
import { tickStep } from './timeline';

export interface TraceRow {
  span: TraceSpan;
  /** 0 for a root (or a span whose parent this process did not record). */
  depth: number;
  /** Bar start and width, in percent of the trace's length; left + width never exceeds 100. */
  leftPct: number;
  widthPct: number;
  /** A PostgreSQL query span (the "Show database spans" toggle hides these with what they contain). */
  database: boolean;
}

export interface TraceLayout {
  /** From the earliest start to the latest end (at least 1 ms, so nothing divides by zero). */
  totalMs: number;
  /** Axis ticks in ms from the trace start, all within totalMs. */
  ticks: number[];
  /** Every span exactly once, depth first. */
  rows: TraceRow[];
}

const clampPct = (n: number) => Math.min(100, Math.max(0, n));
const finite = (n: number) => (Number.isFinite(n) ? n : 0);

export function isDatabaseSpan(span: TraceSpan): boolean {
  const system = span.attributes['db.system.name'] ?? span.attributes['db.system'];
  return system === 'postgresql' || span.name.startsWith('pg.');
}

const byStart = (a: TraceSpan, b: TraceSpan) => a.offsetMs - b.offsetMs || a.startedAt.localeCompare(b.startedAt);

export function layoutTrace(spans: readonly TraceSpan[]): TraceLayout {
  const totalMs = Math.max(1, ...spans.map((s) => finite(s.offsetMs) + Math.max(0, finite(s.durationMs))));
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const span of spans) {
    const parent = span.parentSpanId;
    if (parent == null || parent === span.spanId || !ids.has(parent)) roots.push(span);
    else children.set(parent, [...(children.get(parent) ?? []), span]);
  }

  const rows: TraceRow[] = [];
  const placed = new Set<TraceSpan>();
  const visit = (span: TraceSpan, depth: number) => {
    if (placed.has(span)) return;
    placed.add(span);
    const offset = Math.max(0, finite(span.offsetMs));
    const leftPct = clampPct((100 * offset) / totalMs);
    const widthPct = Math.min(100 - leftPct, clampPct((100 * Math.max(0, finite(span.durationMs))) / totalMs));
    rows.push({ span, depth, leftPct, widthPct, database: isDatabaseSpan(span) });
    // A span id seen twice keeps its children under its first copy only (placed once either way).
    for (const child of [...(children.get(span.spanId) ?? [])].sort(byStart)) visit(child, depth + 1);
    children.delete(span.spanId);
  };
  for (const root of [...roots].sort(byStart)) visit(root, 0);
  // Parents that only point at each other (no root above them) still show, as roots.
  for (const span of [...spans].sort(byStart)) visit(span, 0);

  const step = tickStep(totalMs);
  const ticks = Array.from({ length: Math.floor(totalMs / step) + 1 }, (_, i) => i * step);
  return { totalMs, ticks, rows };
}

/** The rows to show: without database spans (and whatever they contain) unless `showDatabase`. */
export function visibleRows(rows: readonly TraceRow[], showDatabase: boolean): TraceRow[] {
  if (showDatabase) return [...rows];
  const shown: TraceRow[] = [];
  let hiddenBelow: number | null = null;
  for (const row of rows) {
    if (hiddenBelow != null && row.depth > hiddenBelow) continue;
    hiddenBelow = row.database ? row.depth : null;
    if (!row.database) shown.push(row);
  }
  return shown;
}

/** A second line for spans whose name says little: the bookmaker of a platform span, the target of a request. */
export function spanSubtitle(span: TraceSpan): string | null {
  const a = span.attributes;
  const platform = a['oddswatch.platform'];
  if (typeof platform === 'string') return platform;
  const full = a['url.full'] ?? a['http.url'];
  if (typeof full === 'string') {
    try {
      const url = new URL(full);
      return `${url.host}${url.pathname}${url.search}`;
    } catch {
      return full;
    }
  }
  const path = a['url.path'];
  if (typeof path !== 'string') return null;
  const host = typeof a['server.address'] === 'string' ? a['server.address'] : '';
  const query = typeof a['url.query'] === 'string' && a['url.query'] ? `?${a['url.query'].replace(/^\?/, '')}` : '';
  return `${host}${path}${query}`;
}

/** Span durations are often under a millisecond: 0.42 -> "0.4 ms", 7.25 -> "7.3 ms", then as formatDuration. */
export function spanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return ms < 10 ? `${Math.max(0, ms).toFixed(1)} ms` : formatDuration(ms);
}

/** One sentence for screen readers: where the span sits in the tree and on the axis, and how it ended. */
export function describeRow(row: TraceRow): string {
  const { span } = row;
  const parts = [`level ${row.depth + 1}`, `starts at +${spanDuration(span.offsetMs)}`, `takes ${spanDuration(span.durationMs)}`];
  if (span.status === 'error') parts.push(`error${span.statusMessage ? `: ${span.statusMessage}` : ''}`);
  return parts.join(', ');
}
