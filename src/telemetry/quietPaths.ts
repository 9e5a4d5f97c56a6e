/**
 * The paths that make no HTTP server span and log their requests at debug, in one place for the SDK's
 * ignore hook (sdk.ts), the instrumentation bypass of event streams (instrumentationBypass.ts,
 * applied in composition/http.ts) and the request log (http/app.ts).
 *
 * Probes (/healthz, /readyz, /metrics) are polled every few seconds and would drown everything else.
 * SSE streams (GET /api/events, GET /api/runs/:id/events) live for minutes to hours and thousands open
 * at once in a busy incident: a span's duration would be the stream's life, skewing
 * http.server.request.duration, with no children. They are
 * measured by their own metrics instead (oddswatch_sse_subscribers, oddswatch_sse_disconnects_total).
 */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const EVENT_STREAM_PATH = /^\/api\/(events|runs\/[^/]+\/events)\/?$/;

export function isProbePath(path: string): boolean {
  return PROBE_PATHS.has(path);
}

export function isEventStreamPath(path: string): boolean {
  return EVENT_STREAM_PATH.test(path);
}

/** A request target's path, without its query string. */
export function requestPath(url: string | undefined): string {
  const target = url ?? '';
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
