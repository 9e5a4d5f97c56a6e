import { trace } from '@opentelemetry/api';
import { createRoute, z } from '@hono/zod-openapi';
import { AppError, notFound } from '../../errors.js';
import type { EventLog } from '../../events/index.js';
import { commonEntryKeys } from '../../platforms/entry.js';
import type { RunReadModel } from '../../runs/runReadModel.js';
import type { StartRunRequest } from '../../runs/startRun.js';
import { RUN_STATUSES, RUN_TRIGGERS, TERMINAL_RUN_STATUSES, type RunDetail, type RunPage } from '../../shared/contract.js';
import { errorResponses, JSON_BODY, MUTATING, OPERATOR_ONLY, USES_DATABASE } from '../openapi.js';
import { idSchema, openapiWithJsonBody, validatedRoutes } from '../validation.js';
import { decodePageToken, encodePageToken } from '../pageToken.js';
import { eventStream, lastEventId, RUN_STREAM_CURSOR_MAX, type SseDeps } from '../sse/eventStream.js';

const startRunBody = z
  .object({
    platforms: z.array(z.string().min(1).max(100)).min(1).max(100).optional(),
    observe: z.boolean().optional(),
    retryOf: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict()
  .refine((body) => !(body.retryOf !== undefined && body.platforms), {
    message: 'a retry scrapes the platforms of the run it retries: do not send platforms with retryOf',
    path: ['platforms'],
  });

const commaList = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .openapi({ description: `a comma list of ${values.join(', ')}` })
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).max(values.length))
    .optional();

const listQuery = z
  .object({
    status: commaList(RUN_STATUSES),
    trigger: commaList(RUN_TRIGGERS),
    limit: z.coerce.number({ error: 'expected an integer from 1 to 100' }).int().min(1).max(100).default(20),
    cursor: z.string().max(100).optional(),
  })
  .strict();

const runParam = z.object({ id: idSchema });
/** A step of a run: the platform named as PLATFORMS_FILE names it (it need not be configured any more). */
const stepParam = z.object({ id: idSchema, platform: commonEntryKeys.name });

/** A stored screenshot never changes (a step keeps its first capture); it may only be deleted. */
const SCREENSHOT_CACHE_CONTROL = 'private, max-age=86400, immutable';

export interface RunRoutesDeps {
  runs: RunReadModel;
  events: EventLog;
  startRun(request: StartRunRequest): Promise<RunDetail>;
  /** Ends an active run `cancelled` (compare-and-set); null when it had already ended. */
  cancelRun(id: number): Promise<RunDetail | null>;
  sse: SseDeps;
}

const startRunRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Start a run (observe: an api-stream run that needs a watcher; retryOf: retry a connection_failed run once)',
  security: OPERATOR_ONLY,
  request: { body: { content: { 'application/json': { schema: startRunBody } } } },
  responses: {
    202: { description: 'The run (RunDetail), not finished yet' },
    ...errorResponses(USES_DATABASE, MUTATING, JSON_BODY, {
      400: ['unknown_platform', 'not_retryable'],
      409: ['run_active', 'already_retried'],
      503: ['not_owning_runs'],
    }),
  },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/{id}/cancel',
  summary: "Cancel an active run, from any replica: status cancelled, its pending steps skipped, its running steps stopped on the replica running them once run.finished reaches it (at the latest at its next heartbeat)",
  security: OPERATOR_ONLY,
  request: { params: runParam },
  responses: {
    200: { description: 'The run (RunDetail), cancelled' },
    ...errorResponses(USES_DATABASE, MUTATING, { 400: ['invalid_request'], 404: ['not_found'], 409: ['run_finished'] }),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Runs, newest first (RunPage)',
  request: { query: listQuery },
  responses: { 200: { description: 'RunPage' }, ...errorResponses(USES_DATABASE, { 400: ['invalid_request', 'invalid_cursor'] }) },
});

const activeRoute = createRoute({
  method: 'get',
  path: '/active',
  summary: 'The active run, or null',
  responses: { 200: { description: '{ run: RunDetail | null }' }, ...errorResponses(USES_DATABASE) },
});

const runRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'A run with its platform steps',
  request: { params: runParam },
  responses: {
    200: { description: 'RunDetail' },
    ...errorResponses(USES_DATABASE, { 400: ['invalid_request'], 404: ['not_found'] }),
  },
});

const runEventsRoute = createRoute({
  method: 'get',
  path: '/{id}/events',
  summary: "SSE: the run's events (id: the run's seq; Last-Event-ID resumes)",
  request: { params: runParam },
  responses: {
    200: { description: 'text/event-stream of StreamEvent' },
    204: { description: 'The run ended and every event was delivered: stop reconnecting' },
    ...errorResponses(USES_DATABASE, {
      400: ['invalid_request'],
      404: ['not_found'],
      429: ['too_many_streams'],
      503: ['shutting_down'],
    }),
  },
});

const captureRoute = createRoute({
  method: 'get',
  path: '/{id}/steps/{platform}/capture',
  summary: "A failed browser step's page at failure (StepCapture): URL, rendered HTML as a JSON string, the screenshot's URL",
  request: { params: stepParam },
  responses: {
    200: { description: 'StepCapture' },
    ...errorResponses(USES_DATABASE, { 400: ['invalid_request'], 404: ['not_found'] }),
  },
});

const screenshotRoute = createRoute({
  method: 'get',
  path: '/{id}/steps/{platform}/capture/screenshot',
  summary: "A failed browser step's screenshot at failure (PNG of the viewport)",
  request: { params: stepParam },
  responses: {
    200: { description: 'The PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errorResponses(USES_DATABASE, { 400: ['invalid_request'], 404: ['not_found'] }),
  },
});

export function createRunRoutes({ runs, events, startRun, cancelRun, sse }: RunRoutesDeps) {
  const app = validatedRoutes();
  openapiWithJsonBody(app, startRunRoute, async (c) => {
    const body = c.req.valid('json');
    const run = await startRun({
      // observe: the caller watches the run's progress stream; unwatched for too long, the run ends connection_failed.
      trigger: body.observe ? 'api-stream' : 'api',
      platforms: body.platforms,
      retryOf: body.retryOf,
      requestSpan: trace.getActiveSpan()?.spanContext(),
    });
    return c.json(run, 202);
  });
  return app
    .openapi(cancelRoute, async (c) => {
      const { id } = c.req.valid('param');
      const cancelled = await cancelRun(id);
      if (cancelled) return c.json(cancelled, 200);
      const run = await runs.summaryOf(id);
      if (!run) throw notFound(`run ${id}`);
      throw new AppError('run_finished', 409, `run ${id} already ended ${run.status}: only a pending or running run can be cancelled`, { status: run.status });
    })
    .openapi(listRoute, async (c) => {
      const query = c.req.valid('query');
      let beforeId: number | undefined;
      if (query.cursor !== undefined) {
        const decoded = decodePageToken(query.cursor);
        if (decoded === null) throw new AppError('invalid_cursor', 400, 'cursor is not one this API returned');
        beforeId = decoded;
      }
      const page = await runs.list({ statuses: query.status, triggers: query.trigger, limit: query.limit, beforeId });
      const last = page.items.at(-1);
      return c.json<RunPage>({ items: page.items, nextCursor: page.hasMore && last ? encodePageToken(last.id) : null });
    })
    .openapi(activeRoute, async (c) => {
      const id = await runs.activeRunId();
      return c.json({ run: id === null ? null : await runs.detailOf(id) });
    })
    .openapi(runRoute, async (c) => {
      const { id } = c.req.valid('param');
      const run = await runs.detailOf(id);
      if (!run) throw notFound(`run ${id}`);
      return c.json(run);
    })
    .openapi(captureRoute, async (c) => {
      const { id, platform } = c.req.valid('param');
      const capture = await runs.captureOf(id, platform);
      if (!capture) throw notFound(`a page at failure of platform ${platform} in run ${id}`);
      return c.json(capture);
    })
    .openapi(screenshotRoute, async (c) => {
      const { id, platform } = c.req.valid('param');
      const png = await runs.screenshotOf(id, platform);
      if (!png) throw notFound(`a screenshot at failure of platform ${platform} in run ${id}`);
      return c.body(new Uint8Array(png), 200, { 'Content-Type': 'image/png', 'Cache-Control': SCREENSHOT_CACHE_CONTROL });
    })
    .openapi(runEventsRoute, async (c) => {
      const { id } = c.req.valid('param');
      const afterSeq = lastEventId(c, RUN_STREAM_CURSOR_MAX) ?? 0;
      const run = await runs.summaryOf(id);
      if (!run) throw notFound(`run ${id}`);
      if ((TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status)) {
        const remaining = await events.runEventsAfter(id, afterSeq);
        // Everything was delivered, run.finished included: 204 tells EventSource to stop reconnecting.
        if (remaining.length === 0) return c.body(null, 204);
      }
      return eventStream(c, sse, {
        stream: 'run',
        scope: { runId: id },
        idOf: (event) => event.seq ?? 0,
        replay: async () => ({ kind: 'events', events: await events.runEventsAfter(id, afterSeq) }),
        endsWith: (event) => event.type === 'run.finished',
      });
    });
}
