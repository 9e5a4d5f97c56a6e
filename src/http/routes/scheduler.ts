import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { INTERVAL_BOUNDS, type Scheduler } from '../../scheduler/scheduler.js';
import type { RunEngine } from '../../runs/engine.js';
import { detectStaleRuns } from '../../runs/detectStaleRuns.js';
import { pruneRunEvents } from '../../runs/pruneRunEvents.js';
import { startRun } from '../../runs/startRun.js';
import { SCRAPE_JOB_ID } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';
import { jsonBody } from '../errors.js';
import { trace } from '@opentelemetry/api';

const intervalBody = z
  .object({
    intervalSeconds: z
      .number({ error: `intervalSeconds: expected an integer from ${INTERVAL_BOUNDS.min} to ${INTERVAL_BOUNDS.max}` })
      .int()
      .min(INTERVAL_BOUNDS.min)
      .max(INTERVAL_BOUNDS.max),
  })
  .strict();

export function createSchedulerRoutes({ scheduler, engine }: { scheduler: Scheduler; engine: RunEngine }) {
  return new Hono<AppEnv>()
    .get('/', (c) => c.json(scheduler.state()))
    .post('/pause', async (c) => c.json(await scheduler.setPaused(true)))
    .post('/resume', async (c) => c.json(await scheduler.setPaused(false)))
    .patch('/jobs/:id', async (c) => {
      const id = c.req.param('id');
      scheduler.job(id); // 404 before validating the body
      const body = await jsonBody(c, intervalBody);
      return c.json(await scheduler.setInterval(id, body.intervalSeconds));
    })
    .post('/jobs/:id/run', async (c) => {
      const id = c.req.param('id');
      scheduler.job(id);
      if (id === SCRAPE_JOB_ID) {
        const run = await startRun(engine, { trigger: 'api', requestSpan: trace.getActiveSpan()?.spanContext() });
        return c.json({ run }, 202);
      }
      if (id === 'detect_stale_runs') return c.json({ staleRunsFailed: await detectStaleRuns(engine) });
      if (id === 'prune_run_events') return c.json({ eventsDeleted: await pruneRunEvents(engine) });
      throw new AppError('not_found', 404, `unknown job ${id}`);
    });
}
