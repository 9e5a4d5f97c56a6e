import { Hono } from 'hono';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import { platformHealth, platformHistory, runHistory } from '../../history/scrapeHistory.js';
import type { Orm } from '../../db/database.js';
import type { Platforms } from '../../platforms/registry.js';
import type { PlatformHistory, RunHistory } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';
import { validate } from '../validation.js';

const historyQuery = z
  .object({ limit: z.coerce.number({ error: 'expected an integer from 1 to 200' }).int().min(1).max(200).default(50) })
  .strict();

/**
 * Trend series, oldest first: GET /api/platforms/:name/history and GET /api/runs/history. Mounted at
 * /api before the runs routes, whose /runs/:id would otherwise answer /runs/history with a 400.
 */
export function createHistoryRoutes({ orm, platforms }: { orm: Orm; platforms: Pick<Platforms, 'adapters'> }) {
  return new Hono<AppEnv>()
    .get('/platforms/:name/history', validate('query', historyQuery), async (c) => {
      const name = c.req.param('name');
      const { limit } = c.req.valid('query');
      if (!platforms.adapters.has(name)) throw notFound(`platform ${name}`);
      const items = await platformHistory(orm, name, limit);
      return c.json<PlatformHistory>({ platform: name, items, ...(await platformHealth(orm, name)) });
    })
    .get('/runs/history', validate('query', historyQuery), async (c) => {
      const { limit } = c.req.valid('query');
      return c.json<RunHistory>({ items: await runHistory(orm, limit) });
    });
}
