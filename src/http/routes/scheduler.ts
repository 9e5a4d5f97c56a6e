import { trace } from '@opentelemetry/api';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Scheduler } from '../../scheduler/scheduler.js';
import { JOB_INTERVAL_SECONDS } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';
import { jsonMediaType, validate } from '../validation.js';

const { min, max } = JOB_INTERVAL_SECONDS;
const intervalBody = z
  .object({
    intervalSeconds: z.number({ error: `intervalSeconds: expected an integer from ${min} to ${max}` }).int().min(min).max(max),
  })
  .strict();

export function createSchedulerRoutes({ scheduler }: { scheduler: Scheduler }) {
  // 404 for an unknown job before anything else (the body included) is looked at.
  const knownJob: MiddlewareHandler<AppEnv> = async (c, next) => {
    scheduler.job(c.req.param('id') ?? '');
    await next();
  };
  return new Hono<AppEnv>()
    .get('/', (c) => c.json(scheduler.state()))
    .post('/pause', async (c) => c.json(await scheduler.setPaused(true)))
    .post('/resume', async (c) => c.json(await scheduler.setPaused(false)))
    .patch('/jobs/:id', knownJob, jsonMediaType, validate('json', intervalBody), async (c) =>
      c.json(await scheduler.setInterval(c.req.param('id'), c.req.valid('json').intervalSeconds)),
    )
    .post('/jobs/:id/run', async (c) => {
      const outcome = await scheduler.runNow(c.req.param('id'), { by: 'operator', requestSpan: trace.getActiveSpan()?.spanContext() });
      if (outcome.kind === 'skipped') throw outcome.because;
      return c.json(outcome.result, outcome.accepted ? 202 : 200);
    });
}
