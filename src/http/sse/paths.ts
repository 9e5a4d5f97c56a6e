/**
 * The SSE stream paths: GET /api/events and GET /api/runs/:id/events. A stream lives for minutes to hours
 * and thousands open at once in a busy incident, so they get no per-request EntityManager, no HTTP server
 * span (its duration would be the stream's life, skewing http.server.request.duration, and it would have no
 * children), and their opening is logged at debug. They are measured by their own metrics instead
 * (oddswatch_sse_subscribers, oddswatch_sse_disconnects_total by reason).
 */
const EVENT_STREAM_PATH = /^\/api\/(events|runs\/[^/]+\/events)\/?$/;

export function isEventStreamPath(path: string): boolean {
  return EVENT_STREAM_PATH.test(path);
}
