import { SpanKind, SpanStatusCode, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanKind as KindName, TraceDetail, TraceSpan } from '../shared/contract.js';

export interface RecentTracesLimits {
  /** Run traces kept, newest first out last (default 100). */
  runs: number;
  /** Traces whose run span has not ended yet, or that are not runs at all (default 200). */
  pending: number;
  /** Spans kept per trace; beyond it a trace keeps its first spans (default 2,000). */
  spansPerTrace: number;
}

const DEFAULT_LIMITS: RecentTracesLimits = { runs: 100, pending: 200, spansPerTrace: 2_000 };
const MAX_ATTRIBUTE_CHARS = 500;
const RUN_SPAN = 'scrape.run';

const KIND_NAMES: Record<SpanKind, KindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const hrToMs = ([seconds, nanos]: [number, number]): number => seconds * 1_000 + nanos / 1e6;

/**
 * The spans of this process's last runs, in memory: the span processor of a service that exports no
 * traces (plain `npm start`), so every run still has a trace to open (GET /api/traces/:traceId and the
 * dashboard's /traces view). Spans are grouped by trace as they end; a trace becomes a run trace when
 * its `scrape.run` span ends (the run span ends last, after its platforms), and the last `runs` of those
 * are kept. Traces that never see a run span (API requests) only pass through the bounded pending set.
 * Per replica: a trace is held by the process that ran the run; with several replicas, export to Tempo.
 * Cost per span: a WeakMap entry at its start, one map lookup and one array push at its end.
 */
export class RecentTraces implements SpanProcessor {
  private readonly pending = new Map<string, ReadableSpan[]>();
  private readonly runs = new Map<string, ReadableSpan[]>();
  private readonly limits: RecentTracesLimits;
  /** The order spans started in: their start times have only Date.now()'s millisecond resolution. */
  private readonly startOrder = new WeakMap<Span | ReadableSpan, number>();
  private started = 0;

  constructor(limits: Partial<RecentTracesLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  onStart(span: Span, _context: Context): void {
    this.startOrder.set(span, (this.started += 1));
  }

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    const run = this.runs.get(traceId);
    if (run) {
      if (run.length < this.limits.spansPerTrace) run.push(span);
      return;
    }
    let spans = this.pending.get(traceId);
    if (!spans) {
      if (this.pending.size >= this.limits.pending) this.pending.delete(this.pending.keys().next().value!);
      this.pending.set(traceId, (spans = []));
    }
    if (spans.length < this.limits.spansPerTrace) spans.push(span);
    if (span.name === RUN_SPAN) {
      this.pending.delete(traceId);
      if (this.runs.size >= this.limits.runs) this.runs.delete(this.runs.keys().next().value!);
      this.runs.set(traceId, spans);
    }
  }

  /** A run trace's spans ordered by start, or undefined when this process does not hold it. */
  trace(traceId: string): TraceDetail | undefined {
    const spans = this.runs.get(traceId);
    if (!spans) return undefined;
    const ordered = [...spans].sort((a, b) => (this.startOrder.get(a) ?? 0) - (this.startOrder.get(b) ?? 0));
    const origin = Math.min(...ordered.map((span) => hrToMs(span.startTime)));
    const runSpan = ordered.find((span) => span.name === RUN_SPAN);
    const runId = runSpan?.attributes['oddswatch.run.id'];
    return {
      traceId,
      runId: typeof runId === 'number' ? runId : null,
      spans: ordered.map((span) => toTraceSpan(span, origin)),
    };
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.pending.clear();
    this.runs.clear();
    return Promise.resolve();
  }
}

function toTraceSpan(span: ReadableSpan, origin: number): TraceSpan {
  const attributes: TraceSpan['attributes'] = {};
  for (const [key, value] of Object.entries(span.attributes)) {
    if (typeof value === 'string') attributes[key] = value.length > MAX_ATTRIBUTE_CHARS ? `${value.slice(0, MAX_ATTRIBUTE_CHARS)}…` : value;
    else if (typeof value === 'number' || typeof value === 'boolean') attributes[key] = value;
  }
  const startMs = hrToMs(span.startTime);
  return {
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: KIND_NAMES[span.kind],
    startedAt: new Date(startMs).toISOString(),
    offsetMs: round(startMs - origin),
    durationMs: round(hrToMs(span.duration)),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : span.status.code === SpanStatusCode.OK ? 'ok' : 'unset',
    statusMessage: span.status.message || null,
    attributes,
    events: span.events.map((event) => ({ name: event.name, offsetMs: round(hrToMs(event.time) - origin) })),
  };
}

const round = (ms: number): number => Math.round(ms * 1_000) / 1_000;
