import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './appEnv.js';
import { errorBody } from './errors.js';

export interface UnauthorizedLimitOptions {
  /** Wrong-token answers (401) one client address may get per window before it is refused with 429. */
  maxFailures: number;
  windowMs: number;
  /** Addresses tracked at most (oldest forgotten first), so a spray of addresses cannot grow memory. */
  maxClients?: number;
  onLimited?(): void;
}

/**
 * Slows token guessing: after `maxFailures` 401s within `windowMs` a client address gets 429 with
 * Retry-After, until its window ends, whatever token it sends. Mounted before the token check; it
 * counts the 401s that check answers.
 */
export function limitUnauthorized({ maxFailures, windowMs, maxClients = 10_000, onLimited }: UnauthorizedLimitOptions): MiddlewareHandler<AppEnv> {
  const failures = new Map<string, { since: number; count: number }>();
  return async (c, next) => {
    const client = (c.env?.incoming as IncomingMessage | undefined)?.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    let entry = failures.get(client);
    if (entry && now - entry.since >= windowMs) {
      failures.delete(client);
      entry = undefined;
    }
    if (entry && entry.count >= maxFailures) {
      onLimited?.();
      const retryAfter = Math.max(1, Math.ceil((entry.since + windowMs - now) / 1000));
      return c.json(errorBody('too_many_failures', 'too many requests with a wrong operator token; wait before retrying'), 429, { 'Retry-After': String(retryAfter) });
    }
    await next();
    if (c.res.status !== 401) return;
    if (!entry) {
      if (failures.size >= maxClients) failures.delete(failures.keys().next().value!);
      failures.set(client, (entry = { since: now, count: 0 }));
    }
    entry.count += 1;
  };
}
