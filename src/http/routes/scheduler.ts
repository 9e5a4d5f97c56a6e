import { trace } from '@opentelemetry/api';
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Scheduler } from '../../scheduler/scheduler.js';
import { JOB_IDS, JOB_INTERVAL_SECONDS } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';
import { errorResponses, JSON_BODY, MUTATING, OPERATOR_ONLY, USES_DATABASE } from '../openapi.js';
import { openapiWithJsonBody, validatedRoutes } from '../validation.js';

const { min, max } = JOB_INTERVAL_SECONDS;
const intervalBody = z
  .object({
    intervalSeconds: z.number({ error: `intervalSeconds: expected an integer from ${min} to ${max}` }).int().min(min).max(max),
  })
  .strict();

const jobParam = z.object({ id: z.string().openapi({ description: `a job id: ${JOB_IDS.join(', ')}` }) });
const UNKNOWN_JOB = { 404: ['not_found'] } as const;

const stateRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'The jobs by id, and whether the scrape job is paused',
  responses: { 200: { description: 'SchedulerState' }, ...errorResponses() },
});

const pausedRoute = (path: '/pause' | '/resume', summary: string) =>
  createRoute({
    method: 'post',
    path,
    summary,
    security: OPERATOR_ONLY,
    responses: { 200: { description: 'SchedulerState' }, ...errorResponses(USES_DATABASE, MUTATING) },
  });
const pauseRoute = pausedRoute('/pause', 'Pause the scrape job (the watchdog never pauses)');
const resumeRoute = pausedRoute('/resume', 'Resume the scrape job');

const intervalRoute = createRoute({
  method: 'patch',
  path: '/jobs/{id}',
  summary: `Set a job's interval (${min}..${max} s; stored, survives restarts)`,
  security: OPERATOR_ONLY,
  request: { params: jobParam, body: { content: { 'application/json': { schema: intervalBody } } } },
  responses: { 200: { description: 'SchedulerJob' }, ...errorResponses(USES_DATABASE, MUTATING, JSON_BODY, UNKNOWN_JOB) },
});

const runNowRoute = createRoute({
  method: 'post',
  path: '/jobs/{id}/run',
  summary: 'Run a job now (scrape: 202 with the run; watchdog: { staleRunsFailed }; retention: { eventsDeleted, capturesDeleted, oddsDeleted })',
  security: OPERATOR_ONLY,
  request: { params: jobParam },
  responses: {
    200: { description: "The job's result" },
    202: { description: 'The scrape run (RunDetail), not finished yet' },
    ...errorResponses(USES_DATABASE, MUTATING, UNKNOWN_JOB, { 409: ['run_active'], 503: ['not_owning_runs'] }),
  },
});

export function createSchedulerRoutes({ scheduler }: { scheduler: Scheduler }) {
  // 404 for an unknown job before anything else (the body included) is looked at.
  const knownJob: MiddlewareHandler<AppEnv> = async (c, next) => {
    scheduler.job(c.req.param('id') ?? '');
    await next();
  };
  const app = validatedRoutes()
    .openapi(stateRoute, (c) => c.json(scheduler.state()))
    .openapi(pauseRoute, async (c) => c.json(await scheduler.setPaused(true)))
    .openapi(resumeRoute, async (c) => c.json(await scheduler.setPaused(false)));
  openapiWithJsonBody(app, { ...intervalRoute, middleware: knownJob }, async (c) =>
    c.json(await scheduler.setInterval(c.req.valid('param').id, c.req.valid('json').intervalSeconds)),
  );
  return app.openapi(runNowRoute, async (c) => {
    const outcome = await scheduler.runNow(c.req.valid('param').id, { by: 'operator', requestSpan: trace.getActiveSpan()?.spanContext() });
    if (outcome.kind === 'skipped') throw outcome.because;
    return c.json(outcome.result, outcome.accepted ? 202 : 200);
  });
}
