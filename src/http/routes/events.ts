import { createRoute } from '@hono/zod-openapi';
import type { EventLog } from '../../events/index.js';
import { errorResponses, USES_DATABASE } from '../openapi.js';
import { validatedRoutes } from '../validation.js';
import { eventStream, GLOBAL_STREAM_CURSOR_MAX, lastEventId, type SseDeps } from '../sse/eventStream.js';

const eventsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'SSE: every event (id: the global sequence; Last-Event-ID resumes, a fresh client starts live)',
  responses: {
    200: { description: 'text/event-stream of StreamEvent' },
    ...errorResponses(USES_DATABASE, { 400: ['invalid_request'], 429: ['too_many_streams'], 503: ['shutting_down'] }),
  },
});

/** GET /api/events: the dashboard's one stream, every event, ids from the global sequence. */
export function createEventRoutes({ events, sse, replayWindow }: { events: EventLog; sse: SseDeps; replayWindow: number }) {
  return validatedRoutes().openapi(eventsRoute, (c) => {
    const cursor = lastEventId(c, GLOBAL_STREAM_CURSOR_MAX);
    return eventStream(c, sse, {
      stream: 'global',
      scope: 'global',
      idOf: (event) => event.id,
      // A fresh client starts live (its REST snapshot already holds the past): no query at all.
      replay: async () => (cursor === undefined ? { kind: 'events', events: [] } : events.globalEventsAfter(cursor, replayWindow)),
    });
  });
}
