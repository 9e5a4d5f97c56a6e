import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Span, type SpanContext } from '@opentelemetry/api';
import { TERMINAL_RUN_STATUSES, type RunSummary, type RunTrigger } from '../shared/contract.js';
import { recordFailure, tracer } from '../telemetry/tracing.js';

export interface RunSpanStart {
  trigger: RunTrigger;
  platformCount: number;
  retryOf?: number;
  /** The request that started the run: the run's own trace links to it. */
  requestSpan?: SpanContext;
}

/**
 * The one owner of a run's `scrape.run` span: a root span (the run gets its own trace) in which `work`
 * runs, ended exactly once, in `finally`, whatever ended the run (runner, watchdog, connection guard,
 * shutdown, another process) and whether `work` throws. `work` resolves to the run as it ended.
 */
export async function withRunSpan(start: RunSpanStart, work: (span: Span) => Promise<RunSummary | null>): Promise<void> {
  const span = tracer.startSpan(
    'scrape.run',
    {
      kind: SpanKind.INTERNAL,
      root: true,
      links: start.requestSpan ? [{ context: start.requestSpan, attributes: { 'oddswatch.link': 'started_by_request' } }] : [],
      attributes: {
        'oddswatch.run.trigger': start.trigger,
        'oddswatch.run.platform_count': start.platformCount,
        ...(start.retryOf ? { 'oddswatch.run.retry_of': start.retryOf } : {}),
      },
    },
    ROOT_CONTEXT,
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
