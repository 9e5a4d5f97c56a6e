import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ErrorCode } from '../shared/contract.js';
import type { AppEnv } from './appEnv.js';

/** The security scheme of the operator token (OPERATOR_TOKEN), which mutating routes need when it is set. */
const OPERATOR_TOKEN_SCHEME = 'operatorToken';
/** `security` of a mutating route. */
export const OPERATOR_ONLY = [{ [OPERATOR_TOKEN_SCHEME]: [] }];

type ErrorsByStatus = Partial<Record<400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503, readonly ErrorCode[]>>;

/** What any /api route may answer: an unexpected error (errorResponses always includes it). */
const ANY_ROUTE: ErrorsByStatus = { 500: ['internal'] };
/** A route that reads or writes the database (databaseDeadline.ts, the error handler). */
export const USES_DATABASE: ErrorsByStatus = { 503: ['database_unavailable'] };
/** A mutating route: the token, the cross-site check, the wrong-token limit and the body limit (app.ts). */
export const MUTATING: ErrorsByStatus = {
  401: ['unauthorized'],
  403: ['cross_site_request'],
  413: ['payload_too_large'],
  429: ['too_many_failures'],
};
/** A route with a JSON body (validation.ts). */
export const JSON_BODY: ErrorsByStatus = { 400: ['invalid_json', 'invalid_request'], 415: ['unsupported_media_type'] };

/**
 * The documented error answers of a route: each status with the error codes it may carry, in the one error
 * shape. Always includes ANY_ROUTE (500 internal).
 */
export function errorResponses(...groups: ErrorsByStatus[]) {
  const byStatus = new Map<number, Set<ErrorCode>>();
  for (const group of [ANY_ROUTE, ...groups]) {
    for (const [status, codes] of Object.entries(group)) {
      const known = byStatus.get(Number(status)) ?? new Set<ErrorCode>();
      for (const code of codes) known.add(code);
      byStatus.set(Number(status), known);
    }
  }
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [
      status,
      {
        description: [...codes].join(', '),
        content: { 'application/json': { schema: errorBodySchema([...codes] as [ErrorCode, ...ErrorCode[]]) } },
      },
    ]),
  );
}

const errorBodySchema = (codes: [ErrorCode, ...ErrorCode[]]) =>
  z.object({ error: z.object({ code: z.enum(codes), message: z.string(), details: z.unknown().optional() }) });

const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This document: every /api route, generated from the schemas the routes validate with',
  responses: { 200: { description: 'OpenAPI 3.1 document' }, ...errorResponses() },
});

/**
 * GET /api/openapi.json on `api`, describing the routes of `app` (where `api` is mounted at /api). Public
 * and cacheable: it holds schemas and the version only, and changes only with a new build.
 */
export function serveOpenApiDocument(api: OpenAPIHono<AppEnv>, app: OpenAPIHono<AppEnv>, version: string): void {
  api.openAPIRegistry.registerComponent('securitySchemes', OPERATOR_TOKEN_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'OPERATOR_TOKEN: mutating routes need it when the service sets one',
  });
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  api.openapi(openApiRoute, (c) => {
    document ??= app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'oddswatch', version } });
    return c.json(document, 200, { 'Cache-Control': 'public, max-age=300' });
  });
}
