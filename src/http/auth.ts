import { timingSafeEqual, createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';
import type { AppEnv } from './appEnv.js';
import { routePattern } from './security.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Both sides hashed to 32 bytes: timingSafeEqual needs equal lengths, and the length of the token leaks nothing.
const digest = (value: string) => createHash('sha256').update(value).digest();

/** Matches a presented token against the expected one in constant time. */
export function tokenMatches(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(presented), expected);
}

export const isMutating = (method: string) => MUTATING.has(method);

/** What a request presents against OPERATOR_TOKEN: no Authorization header, the right bearer token, or anything else. */
export type TokenVerdict = 'absent' | 'right' | 'wrong';

export function tokenVerdict(token: string | undefined): (authorization: string | undefined) => TokenVerdict {
  const expected = token ? digest(token) : undefined;
  return (authorization) => {
    if (authorization === undefined) return 'absent';
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    return expected && match && tokenMatches(match[1]!.trim(), expected) ? 'right' : 'wrong';
  };
}

/**
 * When OPERATOR_TOKEN is set, mutating API routes need `Authorization: Bearer <token>`. Each refusal is
 * reported with the route pattern it targeted (never the raw path, never the token).
 */
export function requireOperatorToken(token: string | undefined, onRefused: (route: string) => void = () => undefined): MiddlewareHandler<AppEnv> {
  const verdict = tokenVerdict(token);
  return async (c, next) => {
    if (token && MUTATING.has(c.req.method)) {
      if (verdict(c.req.header('authorization')) !== 'right') {
        onRefused(routePattern(c));
        c.header('WWW-Authenticate', 'Bearer realm="oddswatch"');
        throw new AppError('unauthorized', 401, 'this action needs the operator token (Authorization: Bearer <OPERATOR_TOKEN>)');
      }
    }
    await next();
  };
}
