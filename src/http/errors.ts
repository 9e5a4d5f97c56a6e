import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { z, type ZodType } from 'zod';
import { AppError } from '../errors.js';
import type { ApiErrorBody } from '../shared/contract.js';
import type { AppEnv } from './appEnv.js';

export function errorBody(code: string, message: string, details?: unknown): ApiErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** zod failures -> 400, AppError -> its status, Hono's own HTTP errors -> their status, the rest -> logged 500. */
export function onError(logger: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof AppError) return c.json(errorBody(error.code, error.message, error.details), error.status);
    if (error instanceof z.ZodError) return c.json(validationBody(error), 400);
    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'bad_request';
      return c.json(errorBody(code, error.message || 'bad request'), status);
    }
    (c.get('logger') ?? logger).error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
    return c.json(errorBody('internal', 'internal server error'), 500);
  };
}

export function validationBody(error: z.ZodError): ApiErrorBody {
  const details = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = details[0];
  return errorBody('invalid_request', first ? `${first.path || 'body'}: ${first.message}` : 'invalid request', details);
}

/** Parses a JSON body with a schema; an empty body is `{}` (so `curl -X POST` works), malformed JSON is a 400. */
export async function jsonBody<S extends ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== '') {
    const type = c.req.header('content-type') ?? '';
    if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
      throw new AppError('unsupported_media_type', 415, 'send the body as application/json');
    }
    try {
      raw = JSON.parse(text);
    } catch {
      throw new AppError('invalid_json', 400, 'the request body is not valid JSON');
    }
  }
  return schema.parse(raw);
}

/** Path and query parameters validated the same way. */
export function parseWith<S extends ZodType>(schema: S, value: unknown): z.output<S> {
  return schema.parse(value);
}

/** A positive database id: rejects `abc`, `-1`, `1.5` and anything beyond 2^53. */
export const idSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'expected a positive integer id')
  .transform(Number)
  .refine(Number.isSafeInteger, 'expected a positive integer id');
