import { Hono } from 'hono';
import type { EventLog } from '../../events/index.js';
import type { AppEnv } from '../appEnv.js';
import { eventStream, GLOBAL_STREAM_CURSOR_MAX, lastEventId, type SseDeps } from '../sse/eventStream.js';

/** GET /api/events: the dashboard's one stream, every event, ids from the global sequence. */
export function createEventRoutes({ events, sse, replayWindow }: { events: EventLog; sse: SseDeps; replayWindow: number }) {
  return new Hono<AppEnv>().get('/', (c) => {
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
