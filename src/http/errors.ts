import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isDatabaseUnavailable } from '../db/pgErrors.js';
import { AppError } from '../errors.js';
import type { ApiErrorBody, ErrorCode } from '../shared/contract.js';
import type { AppEnv } from './appEnv.js';

export function errorBody(code: ErrorCode, message: string, details?: unknown): ApiErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** How long a client should wait before retrying while the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The one error handler: zod failures -> 400, AppError -> its status, Hono's own HTTP errors -> their
 * status, a database that is down or too slow -> 503 database_unavailable, the rest -> logged 500.
 */
export function onError(logger: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof AppError) {
      // Every 503 says when to retry (not_owning_runs after a database outage, like database_unavailable below).
      if (error.status === 503) c.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      return c.json(errorBody(error.code, error.message, error.details), error.status);
    }
    if (error instanceof z.ZodError) return c.json(validationBody(error), 400);
    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'bad_request';
      return c.json(errorBody(code, error.message || 'bad request'), status);
    }
    if (isDatabaseUnavailable(error)) {
      (c.get('logger') ?? logger).warn({ err: { name: error.name, message: error.message }, method: c.req.method, path: c.req.path }, 'database unavailable');
      c.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      return c.json(errorBody('database_unavailable', 'the database is unavailable; retry shortly'), 503);
    }
    (c.get('logger') ?? logger).error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
    return c.json(errorBody('internal', 'internal server error'), 500);
  };
}

/** The 400 `invalid_request` body of a zod failure: the first issue as the message, every issue in details. */
function validationBody(error: z.ZodError): ApiErrorBody {
  const details = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = details[0];
  return errorBody('invalid_request', first ? `${first.path || 'body'}: ${first.message}` : 'invalid request', details);
}
