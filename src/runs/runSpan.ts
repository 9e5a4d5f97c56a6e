import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Span, type SpanContext } from '@opentelemetry/api';
import { TERMINAL_RUN_STATUSES, type RunSummary, type RunTrigger } from '../shared/contract.js';
import { recordFailure, tracer } from '../telemetry/tracing.js';

export interface RunSpanStart {
  trigger: RunTrigger;
  platformCount: number;
  retryOf?: number;
  /** The request that started the run: the run's own trace links to it. */
  requestSpan?: SpanContext;
  /**
   * A run taken over from a dead replica: its trace (the run's stored trace id), so the span of the rest of
   * the run, and its steps' spans, join the trace the run began in; `from` is the dead replica's id.
   */
  takenOver?: { traceId: string; from: string | null };
}

/**
 * The one owner of a run's `scrape.run` span on this replica: a root span (the run gets its own trace) in
 * which `work` runs, ended exactly once, in `finally`, whatever ended the run (runner, watchdog, connection
 * guard, shutdown, another process) and whether `work` throws. `work` resolves to the run as it ended.
 * A run taken over from a dead replica gets a second `scrape.run` span in the same trace, under the first
 * (which its dead owner never ended, so it is not exported: the trace shows the second one's parent as missing).
 */
export async function withRunSpan(start: RunSpanStart, work: (span: Span) => Promise<RunSummary | null>): Promise<void> {
  const parent = start.takenOver ? trace.setSpanContext(ROOT_CONTEXT, { traceId: start.takenOver.traceId, spanId: randomSpanId(), traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
  const span = tracer.startSpan(
    'scrape.run',
    {
      kind: SpanKind.INTERNAL,
      root: !start.takenOver,
      links: start.requestSpan ? [{ context: start.requestSpan, attributes: { 'oddswatch.link': 'started_by_request' } }] : [],
      attributes: {
        'oddswatch.run.trigger': start.trigger,
        'oddswatch.run.platform_count': start.platformCount,
        ...(start.retryOf ? { 'oddswatch.run.retry_of': start.retryOf } : {}),
        ...(start.takenOver ? { 'oddswatch.run.taken_over': true, ...(start.takenOver.from ? { 'oddswatch.run.taken_over_from': start.takenOver.from } : {}) } : {}),
      },
    },
    parent,
  );
  try {
    const ended = await context.with(trace.setSpan(ROOT_CONTEXT, span), () => work(span));
    describeEnd(span, ended);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function describeEnd(span: Span, run: RunSummary | null): void {
  if (!run || !(TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `the runner stopped while the run was ${run?.status ?? 'unknown'}` });
    return;
  }
  const reason = run.failureReason;
  span.setAttributes({
    'oddswatch.run.status': run.status,
    'oddswatch.run.events_found': run.eventsFound,
    'oddswatch.run.platforms_succeeded': run.platformsSucceeded,
    'oddswatch.run.platforms_failed': run.platformsFailed,
    ...(reason ? { 'oddswatch.run.failure_reason': reason } : {}),
  });
  if (run.status === 'failed' || run.status === 'connection_failed') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${run.status}${reason ? `: ${reason}` : ''}` });
  }
  span.addEvent('run.finished', { status: run.status, ...(reason ? { failure_reason: reason } : {}) });
}

/** A span id for the taken-over run's parent: the dead owner's span id is not stored, only its trace id. */
const randomSpanId = () => randomBytes(8).toString('hex');
