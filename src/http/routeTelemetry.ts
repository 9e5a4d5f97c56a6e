import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './appEnv.js';
import { routePattern } from './security.js';

/**
 * The route template of a request for `http.route`: `/api/runs/:id`, never `/api/runs/42`; `unmatched` for
 * an API path no route serves, `/*` for the dashboard (its pages and assets). Bounded by the routes in code.
 */
export function httpRoute(c: Context<AppEnv>): string {
  const route = routePattern(c);
  // The dashboard's `GET /*` also matches unknown API paths, which the API's 404 answers first.
  return route === '/*' && c.req.path.startsWith('/api/') ? 'unmatched' : route;
}

/**
 * Gives the HTTP instrumentation the request's route: it copies the RPC metadata's route into the server
 * span (`http.route`, and the span name `GET /api/runs/:id`) and into `http.server.request.duration`, the
 * labels of per-route rate, errors and latency. Set before next(), as soon as Hono has matched the request,
 * so requests refused by a middleware (401, 403, 405, 413) count against the route they targeted. Without the
 * SDK (no RPC metadata in the context) it does nothing.
 */
export function recordRoute(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const rpc = getRPCMetadata(context.active());
    if (rpc?.type === RPCType.HTTP) rpc.route = httpRoute(c);
    await next();
  };
}
