import { trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { z } from 'zod';
import { AppError, notFound } from '../../errors.js';
import type { RunEngine } from '../../runs/engine.js';
import { decodeCursor } from '../../runs/runRepository.js';
import { startRun } from '../../runs/startRun.js';
import { RUN_STATUSES, RUN_TRIGGERS, TERMINAL_RUN_STATUSES } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';
import { idSchema, jsonBody, parseWith } from '../errors.js';
import { eventStream, lastEventId, type SseDeps } from '../sse.js';

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

export function createRunRoutes({ engine, sse }: { engine: RunEngine; sse: SseDeps }) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const body = await jsonBody(c, startRunBody);
      const run = await startRun(engine, {
        trigger: body.observe ? 'api-stream' : 'api',
        platforms: body.platforms,
        retryOf: body.retryOf,
        requestSpan: trace.getActiveSpan()?.spanContext(),
      });
      return c.json(run, 202);
    })
    .get('/', async (c) => {
      const query = parseWith(listQuery, c.req.query());
      let beforeId: number | undefined;
      if (query.cursor !== undefined) {
        const decoded = decodeCursor(query.cursor);
        if (decoded === null) throw new AppError('invalid_cursor', 400, 'cursor is not one this API returned');
        beforeId = decoded;
      }
      return c.json(await engine.runs.list({ statuses: query.status, triggers: query.trigger, limit: query.limit, beforeId }));
    })
    .get('/active', async (c) => {
      const id = await engine.runs.activeRunId();
      return c.json({ run: id === null ? null : await engine.runs.detailOf(id) });
    })
    .get('/:id', async (c) => {
      const id = parseWith(idSchema, c.req.param('id'));
      const run = await engine.runs.detailOf(id);
      if (!run) throw notFound(`run ${id}`);
      return c.json(run);
    })
    .get('/:id/events', async (c) => {
      const id = parseWith(idSchema, c.req.param('id'));
      const afterSeq = lastEventId(c) ?? 0;
      const run = await engine.runs.summaryOf(id);
      if (!run) throw notFound(`run ${id}`);
      if ((TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status)) {
        const remaining = await engine.events.runEventsAfter(id, afterSeq);
        // Everything was delivered, run.finished included: 204 tells EventSource to stop reconnecting.
        if (remaining.length === 0) return c.body(null, 204);
      }
      return eventStream(c, sse, {
        stream: 'run',
        scope: { runId: id },
        idOf: (event) => event.seq ?? 0,
        replay: async () => ({ kind: 'events', events: await engine.events.runEventsAfter(id, afterSeq) }),
        endsWith: (event) => event.type === 'run.finished',
      });
    });
}
