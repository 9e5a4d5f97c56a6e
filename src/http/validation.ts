import { OpenAPIHono, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler } from 'hono';
import type { ValidationTargets } from 'hono/types';
import { z, type ZodType } from 'zod';
import { AppError } from '../errors.js';
import type { AppEnv } from './appEnv.js';

/** A failed validation is thrown into onError (errors.ts), which answers it as a 400 `invalid_request`: one error shape. */
const throwValidationError = (result: { success: true } | { success: false; error: unknown }): void => {
  if (!result.success) throw result.error;
};

/** @hono/zod-validator whose failure is thrown into onError, so it answers in the one error shape. */
const validate = <Target extends keyof ValidationTargets, S extends ZodType>(target: Target, schema: S) =>
  zValidator(target, schema, throwValidationError);

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Before `validate('json', ...)`: a body of another media type is a 415, malformed JSON a 400
 * `invalid_json`. A request without a body (`curl -X POST`) validates as `{}`.
 */
const jsonMediaType: MiddlewareHandler<AppEnv> = async (c, next) => {
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

/** Routes described with @hono/zod-openapi whose validation failures answer in the one error shape. */
export const validatedRoutes = () => new OpenAPIHono<AppEnv>({ defaultHook: throwValidationError });

type JsonBodyRoute = RouteConfig & { request: { body: { content: { 'application/json': { schema: ZodType } } } } };

/**
 * `app.openapi` for a route with a JSON body: documented from the route's schema, validated as this API
 * always did (jsonMediaType, then `validate('json')`: a request without a body is `{}`). zod-openapi's own
 * media-type gate would answer a bare 415 where this API reads `{}` (an empty body of another type, a body
 * without Content-Type).
 */
export function openapiWithJsonBody<R extends JsonBodyRoute>(app: OpenAPIHono<AppEnv>, route: R, handler: RouteHandler<R, AppEnv>): void {
  const { middleware, hide: _hide, ...described } = route;
  const { body, ...request } = route.request;
  app.openAPIRegistry.registerPath(described);
  const validators = [jsonMediaType, validate('json', body.content['application/json'].schema)];
  app.openapi({ ...described, request, middleware: [...[middleware ?? []].flat(), ...validators], hide: true }, handler as never);
}
