import { SpanKind, SpanStatusCode, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanKind as KindName, TraceDetail, TraceSpan } from '../shared/contract.js';

export interface RecentTracesLimits {
  /** Run traces kept, the oldest dropped first (default 100). */
  runs: number;
  /** Spans kept per trace; beyond it a trace keeps its first spans (default 2,000). */
  spansPerTrace: number;
}

const DEFAULT_LIMITS: RecentTracesLimits = { runs: 100, spansPerTrace: 2_000 };
const MAX_ATTRIBUTE_CHARS = 500;
const RUN_SPAN = 'scrape.run';
/** The order spans started in, set on the span itself: start times have only Date.now()'s millisecond resolution. */
const START_ORDER = Symbol('oddswatch.startOrder');

const KIND_NAMES: Record<SpanKind, KindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** A finished span as kept: the wire shape with its absolute start instead of an offset (dated when read, not per span). */
interface KeptSpan extends Omit<TraceSpan, 'offsetMs' | 'events' | 'startedAt'> {
  order: number;
  startMs: number;
  events: { name: string; atMs: number }[];
}

const hrToMs = ([seconds, nanos]: [number, number]): number => seconds * 1_000 + nanos / 1e6;

/**
 * The spans of this process's last runs, in memory: the span processor of a service that exports no
 * traces (plain `npm start`), so every run still has a trace to open (GET /api/traces/:traceId and the
 * dashboard's /traces view). A trace is kept from the start of its `scrape.run` span (the run's root);
 * spans of other traces (API requests) are not kept at all. Each span is copied into a small plain
 * record when it ends, so the SDK's span objects are never retained (holding them, and a WeakMap for
 * their start order, measured +4-6% run time in bench:telemetry through garbage collection).
 * Per replica: a trace is held by the process that ran the run; with several replicas, export to Tempo.
 */
export class RecentTraces implements SpanProcessor {
  private readonly traces = new Map<string, KeptSpan[]>();
  private readonly limits: RecentTracesLimits;
  private started = 0;

  constructor(limits: Partial<RecentTracesLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  onStart(span: Span, _context: Context): void {
    const traceId = span.spanContext().traceId;
    if (span.name === RUN_SPAN && !this.traces.has(traceId)) {
      if (this.traces.size >= this.limits.runs) this.traces.delete(this.traces.keys().next().value!);
      this.traces.set(traceId, []);
    }
    if (this.traces.has(traceId)) (span as unknown as Record<symbol, number>)[START_ORDER] = (this.started += 1);
  }

  onEnd(span: ReadableSpan): void {
    const kept = this.traces.get(span.spanContext().traceId);
    if (kept && kept.length < this.limits.spansPerTrace) kept.push(keep(span));
  }

  /** A run trace's spans in start order, or undefined when this process does not hold it. */
  trace(traceId: string): TraceDetail | undefined {
    const kept = this.traces.get(traceId);
    if (!kept || kept.length === 0) return undefined;
    const ordered = [...kept].sort((a, b) => a.order - b.order);
    const origin = Math.min(...ordered.map((span) => span.startMs));
    const runId = ordered.find((span) => span.name === RUN_SPAN)?.attributes['oddswatch.run.id'];
    return {
      traceId,
      runId: typeof runId === 'number' ? runId : null,
      spans: ordered.map(({ order: _order, startMs, events, ...span }) => ({
        ...span,
        startedAt: new Date(startMs).toISOString(),
        offsetMs: round(startMs - origin),
        events: events.map((event) => ({ name: event.name, offsetMs: round(event.atMs - origin) })),
      })),
    };
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.traces.clear();
    return Promise.resolve();
  }
}

function keep(span: ReadableSpan): KeptSpan {
  const attributes: TraceSpan['attributes'] = {};
  for (const key in span.attributes) {
    const value = span.attributes[key];
    if (typeof value === 'string') attributes[key] = value.length > MAX_ATTRIBUTE_CHARS ? cut(value) : value;
    else if (typeof value === 'number' || typeof value === 'boolean') attributes[key] = value;
  }
  const startMs = hrToMs(span.startTime);
  return {
    order: (span as unknown as Record<symbol, number>)[START_ORDER] ?? 0,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: KIND_NAMES[span.kind],
    startMs,
    durationMs: round(hrToMs(span.duration)),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : span.status.code === SpanStatusCode.OK ? 'ok' : 'unset',
    statusMessage: span.status.message || null,
    attributes,
    events: span.events.map((event) => ({ name: event.name, atMs: hrToMs(event.time) })),
  };
}

/**
 * The first MAX_ATTRIBUTE_CHARS of a long attribute (a statement's SQL text runs to tens of KB), as a
 * string of its own: V8's slice() shares the original's memory, so every kept span would keep its
 * whole statement alive (measured: 2,000 cut 20 KB strings held 42 MB as slices, 5 MB copied).
 */
function cut(value: string): string {
  return Buffer.from(`${value.slice(0, MAX_ATTRIBUTE_CHARS)}…`, 'utf8').toString('utf8');
}

const round = (ms: number): number => Math.round(ms * 1_000) / 1_000;
