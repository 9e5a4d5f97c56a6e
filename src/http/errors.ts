import { zValidator } from '@hono/zod-validator';
import type { ErrorHandler, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ValidationTargets } from 'hono/types';
import type { Logger } from 'pino';
import { z, type ZodType } from 'zod';
import { isDatabaseUnavailable } from '../db/pgErrors.js';
import { AppError } from '../errors.js';
import type { ApiErrorBody } from '../shared/contract.js';
import type { AppEnv } from './appEnv.js';

export function errorBody(code: string, message: string, details?: unknown): ApiErrorBody {
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

function validationBody(error: z.ZodError): ApiErrorBody {
  const details = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = details[0];
  return errorBody('invalid_request', first ? `${first.path || 'body'}: ${first.message}` : 'invalid request', details);
}

/** @hono/zod-validator whose failure is thrown into onError, so it answers in the one error shape. */
export const validate = <Target extends keyof ValidationTargets, S extends ZodType>(target: Target, schema: S) =>
  zValidator(target, schema, (result) => {
    if (!result.success) throw result.error;
  });

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Before `validate('json', ...)`: a body of another media type is a 415, malformed JSON a 400
 * `invalid_json`. A request without a body (`curl -X POST`) validates as `{}`.
 */
export const jsonMediaType: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header('content-type');
  if (type && !JSON_MEDIA_TYPE.test(type) && (await c.req.text()).trim() !== '') {
    throw new AppError('unsupported_media_type', 415, 'send the body as application/json');
  }
  if (type && JSON_MEDIA_TYPE.test(type)) {
    // Parsed once here; the validator reads Hono's cached result.
    await c.req.json().catch(() => {
      throw new AppError('invalid_json', 400, 'the request body is not valid JSON');
    });
  }
  await next();
};

/** Header values validated with a schema (SSE's Last-Event-ID); a failure reaches onError as a 400. */
export function parseWith<S extends ZodType>(schema: S, value: unknown): z.output<S> {
  return schema.parse(value);
}

/** A positive database id: rejects `abc`, `-1`, `1.5` and anything beyond 2^53. */
export const idSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'expected a positive integer id')
  .transform(Number)
  .refine(Number.isSafeInteger, 'expected a positive integer id');
