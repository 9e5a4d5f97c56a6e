import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../errors.js';
import type { TraceDetail } from '../../shared/contract.js';
import { errorResponses } from '../openapi.js';
import { validatedRoutes } from '../validation.js';

export interface TraceRoutesDeps {
  /** This process's last run traces (telemetry/recentTraces.ts); undefined when traces are exported instead. */
  traces: { trace(traceId: string): TraceDetail | undefined } | undefined;
}

const traceParam = z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, 'a trace id is 32 lowercase hex characters') });

const traceRoute = createRoute({
  method: 'get',
  path: '/{traceId}',
  summary: "A run's trace as the process that ran it recorded it (only when it exports no traces)",
  request: { params: traceParam },
  responses: {
    200: { description: 'TraceDetail' },
    ...errorResponses({ 400: ['invalid_request'], 404: ['trace_not_found'] }),
  },
});

/** GET /api/traces/:traceId: a run trace as this process recorded it (the dashboard's /traces view). */
export function createTraceRoutes({ traces }: TraceRoutesDeps) {
  return validatedRoutes().openapi(traceRoute, (c) => {
    const { traceId } = c.req.valid('param');
    if (!traces) {
      throw new AppError('trace_not_found', 404, 'this service exports its traces (OTEL_EXPORTER_OTLP_ENDPOINT): open them in Tempo', { reason: 'exported' });
    }
    const trace = traces.trace(traceId);
    if (!trace) {
      throw new AppError(
        'trace_not_found',
        404,
        `trace ${traceId} is not held here: a process keeps the traces of its last runs only, only the runs it ran, and loses them when it restarts`,
        { reason: 'not_held' },
      );
    }
    return c.json(trace);
  });
}
