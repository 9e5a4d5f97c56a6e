import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';

export const tracer = trace.getTracer('oddswatch');

/** Records the failure on the span: exception event plus ERROR status. */
export function recordFailure(span: Span, error: unknown, message?: string): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? (error instanceof Error ? error.message : String(error)) });
}

export function currentTraceId(span: Span): string | null {
  const id = span.spanContext().traceId;
  return /^0+$/.test(id) ? null : id;
}
