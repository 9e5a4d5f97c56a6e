import { Hono } from 'hono';
import { z } from 'zod';
import type { EventLog } from '../../runs/eventLog.js';
import type { AppEnv } from '../appEnv.js';
import { parseWith } from '../errors.js';
import { eventStream, type SseDeps } from '../sse.js';

const cursorSchema = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'Last-Event-ID must be a non-negative integer').transform(Number);

/** GET /api/events: the dashboard's one stream, every event, ids from the global sequence. */
export function createEventRoutes({ events, sse, replayWindow }: { events: EventLog; sse: SseDeps; replayWindow: number }) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const cursorText = c.req.header('last-event-id') ?? c.req.query('lastEventId');
    const cursor = cursorText === undefined ? undefined : parseWith(cursorSchema, cursorText);
    // A fresh client starts live: its REST snapshot already holds the past.
    const start = cursor ?? (await events.latestGlobalId());
    return eventStream(c, sse, {
      stream: 'global',
      scope: 'global',
      idOf: (event) => event.id,
      replay: () => events.globalEventsAfter(start, replayWindow),
    });
  });
}
