import type { MiddlewareHandler } from 'hono';
import { startDatabaseDeadline } from '../db/databaseDeadline.js';
import { settlesWithin } from '../shared/timeout.js';
import type { AppEnv } from './appEnv.js';
import { isEventStreamPath } from '../telemetry/quietPaths.js';

/**
 * How long past its deadline a request may take to turn its cut database wait into its 503 before the
 * middleware answers for it (a handler that cleans up after the failure, like a start marking its
 * half-created run failed, goes on in the background).
 */
const ANSWER_GRACE_MS = 100;

/**
 * One database deadline per API request (src/db/databaseDeadline.ts): every wait for the database the
 * request has pending `deadlineMs` after it began is cut, so it answers 503 `database_unavailable`
 * (Retry-After, onError) by then, however many waits it queued behind; should the handler still not
 * have answered `ANSWER_GRACE_MS` later, the middleware answers the 503 itself.
 *
 * SSE streams: the waits before the stream opens (the run's lookup, a finished run's remaining events)
 * are cut alike, but the stream is never answered for (the handler writes to the socket itself), and
 * once it is live nothing is cut: the deadline ends when the handler returns, before its replay's
 * waits could be.
 */
export function databaseDeadline(deadlineMs: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const deadline = startDatabaseDeadline(deadlineMs);
    try {
      const handled = deadline.run(next);
      if (isEventStreamPath(c.req.path) || (await settlesWithin(handled, deadlineMs + ANSWER_GRACE_MS))) return await handled;
      handled.catch(() => undefined);
      throw deadline.error;
    } finally {
      deadline.end();
    }
  };
}
