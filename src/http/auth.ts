import { timingSafeEqual, createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';
import type { AppEnv } from './appEnv.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const digest = (value: string) => createHash('sha256').update(value).digest();

/** When OPERATOR_TOKEN is set, mutating API routes need `Authorization: Bearer <token>`. */
export function requireOperatorToken(token: string | undefined): MiddlewareHandler<AppEnv> {
  const expected = token ? digest(token) : undefined;
  return async (c, next) => {
    if (expected && MUTATING.has(c.req.method)) {
      const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
      if (!match || !timingSafeEqual(digest(match[1]!.trim()), expected)) {
        c.header('WWW-Authenticate', 'Bearer realm="oddswatch"');
        throw new AppError('unauthorized', 401, 'this action needs the operator token (Authorization: Bearer <OPERATOR_TOKEN>)');
      }
    }
    await next();
  };
}
