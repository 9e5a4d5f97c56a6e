import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './appEnv.js';
import { isMutating, tokenVerdict } from './auth.js';
import { clientOf } from './clientAddress.js';
import { errorBody } from './errors.js';

export interface UnauthorizedLimitOptions {
  /** Wrong-token answers (401) one client may get per window before its token guesses are refused with 429. */
  maxFailures: number;
  windowMs: number;
  /** OPERATOR_TOKEN: a request presenting it is never refused (unset: no request is refused with 401 either). */
  operatorToken?: string;
  /** Clients tracked at most (oldest forgotten first), so a spray of addresses cannot grow memory. */
  maxClients?: number;
  onLimited?(): void;
}

/**
 * Slows token guessing: after `maxFailures` 401s within `windowMs` a client (clientAddress.ts: behind a
 * trusted proxy, the address it forwards for) gets 429 with Retry-After until its window ends, for every
 * request that presents a wrong token and every mutating one without the right token. The right token
 * and reads presenting none still pass: a client sharing the address (everyone behind one proxy that is
 * not trusted) is not locked out by someone else's guesses. Mounted before the token check; it counts the
 * 401s that check answers.
 */
export function limitUnauthorized({ maxFailures, windowMs, operatorToken, maxClients = 10_000, onLimited }: UnauthorizedLimitOptions): MiddlewareHandler<AppEnv> {
  const failures = new Map<string, { since: number; count: number }>();
  const verdict = tokenVerdict(operatorToken);
  return async (c, next) => {
    const client = clientOf(c);
    const now = Date.now();
    let entry = failures.get(client);
    if (entry && now - entry.since >= windowMs) {
      failures.delete(client);
      entry = undefined;
    }
    if (entry && entry.count >= maxFailures) {
      const presented = verdict(c.req.header('authorization'));
      if (presented === 'wrong' || (presented === 'absent' && isMutating(c.req.method))) {
        onLimited?.();
        const retryAfter = Math.max(1, Math.ceil((entry.since + windowMs - now) / 1000));
        return c.json(errorBody('too_many_failures', 'too many requests with a wrong operator token; wait before retrying'), 429, { 'Retry-After': String(retryAfter) });
      }
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
