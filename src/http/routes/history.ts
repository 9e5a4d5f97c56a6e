import { Hono } from 'hono';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import { platformHistory, runHistory } from '../../history/scrapeHistory.js';
import type { RunEngine } from '../../runs/engine.js';
import type { PlatformHistory, RunHistory } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';
import { parseWith } from '../errors.js';

const historyQuery = z
  .object({ limit: z.coerce.number({ error: 'expected an integer from 1 to 200' }).int().min(1).max(200).default(50) })
  .strict();

/**
 * Trend series, oldest first: GET /api/platforms/:name/history and GET /api/runs/history. Mounted at
 * /api before the runs routes, whose /runs/:id would otherwise answer /runs/history with a 400.
 */
export function createHistoryRoutes({ engine }: { engine: RunEngine }) {
  return new Hono<AppEnv>()
    .get('/platforms/:name/history', async (c) => {
      const name = c.req.param('name');
      const { limit } = parseWith(historyQuery, c.req.query());
      if (!engine.platforms.adapters.has(name)) throw notFound(`platform ${name}`);
      return c.json<PlatformHistory>({ platform: name, items: await platformHistory(engine.orm, name, limit) });
    })
    .get('/runs/history', async (c) => {
      const { limit } = parseWith(historyQuery, c.req.query());
      return c.json<RunHistory>({ items: await runHistory(engine.orm, limit) });
    });
}
