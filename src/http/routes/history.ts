import { createRoute, z } from '@hono/zod-openapi';
import { notFound } from '../../errors.js';
import { platformHealth, platformHistory, runHistory } from '../../history/scrapeHistory.js';
import type { Orm } from '../../db/database.js';
import type { Platforms } from '../../platforms/registry.js';
import type { PlatformHistory, RunHistory } from '../../shared/contract.js';
import { errorResponses, USES_DATABASE } from '../openapi.js';
import { validatedRoutes } from '../validation.js';

const historyQuery = z
  .object({ limit: z.coerce.number({ error: 'expected an integer from 1 to 200' }).int().min(1).max(200).default(50) })
  .strict();

const platformHistoryRoute = createRoute({
  method: 'get',
  path: '/platforms/{name}/history',
  summary: "A platform's last finished scrapes, oldest first, and its health",
  request: { params: z.object({ name: z.string() }), query: historyQuery },
  responses: {
    200: { description: 'PlatformHistory' },
    ...errorResponses(USES_DATABASE, { 400: ['invalid_request'], 404: ['not_found'] }),
  },
});

const runHistoryRoute = createRoute({
  method: 'get',
  path: '/runs/history',
  summary: 'The last finished runs, oldest first (the runs trend)',
  request: { query: historyQuery },
  responses: { 200: { description: 'RunHistory' }, ...errorResponses(USES_DATABASE, { 400: ['invalid_request'] }) },
});

/**
 * Trend series, oldest first: GET /api/platforms/:name/history and GET /api/runs/history. Mounted at
 * /api before the runs routes, whose /runs/:id would otherwise answer /runs/history with a 400.
 */
export function createHistoryRoutes({ orm, platforms }: { orm: Orm; platforms: Pick<Platforms, 'adapters'> }) {
  return validatedRoutes()
    .openapi(platformHistoryRoute, async (c) => {
      const { name } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      if (!platforms.adapters.has(name)) throw notFound(`platform ${name}`);
      const items = await platformHistory(orm, name, limit);
      return c.json<PlatformHistory>({ platform: name, items, ...(await platformHealth(orm, name)) });
    })
    .openapi(runHistoryRoute, async (c) => {
      const { limit } = c.req.valid('query');
      return c.json<RunHistory>({ items: await runHistory(orm, limit) });
    });
}
