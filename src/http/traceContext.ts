import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';

/**
 * Tells the client which trace its request belongs to, so an operator can paste it into Tempo:
 * `X-Trace-Id: <trace id>` and `Server-Timing: traceparent;desc="00-<trace id>-<span id>-<flags>"`
 * (the W3C traceparent of the request's server span, readable by browsers through Server-Timing).
 * No header when the request has no recorded span (SDK not loaded, or a quiet path like /healthz).
 */
export function traceContext(): MiddlewareHandler {
  return async (c, next) => {
    const headers = traceHeaders();
    if (!headers) return next();
    // Before next(): streamed responses (SSE) send their headers early.
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    await next();
    for (const [name, value] of Object.entries(headers)) {
      if (c.res.headers.has(name)) continue;
      try {
        c.res.headers.set(name, value);
      } catch {
        // A response with immutable headers (e.g. a proxied fetch Response): leave it as it is.
      }
    }
  };
}

/** The trace headers of the active span, or undefined when there is no recorded span. */
export function traceHeaders(): Record<string, string> | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return undefined;
  const flags = context.traceFlags & TraceFlags.SAMPLED ? '01' : '00';
  return {
    'X-Trace-Id': context.traceId,
    'Server-Timing': `traceparent;desc="00-${context.traceId}-${context.spanId}-${flags}"`,
  };
}
