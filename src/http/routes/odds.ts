import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { decodeOddsCursor, queryOdds } from '../../odds/oddsQuery.js';
import type { RunEngine } from '../../runs/engine.js';
import type { AppEnv } from '../appEnv.js';
import { parseWith } from '../errors.js';

const oddsQuery = z
  .object({
    platform: z.string().min(1).max(100).optional(),
    q: z
      .string()
      .max(100, 'search at most 100 characters')
      .transform((value) => value.trim())
      .optional(),
    limit: z.coerce.number({ error: 'expected an integer from 1 to 100' }).int().min(1).max(100).default(20),
    cursor: z.string().max(1000).optional(),
  })
  .strict();

/** GET /api/odds: sporting events with every bookmaker's latest prices (see src/odds/oddsQuery.ts). */
export function createOddsRoutes({ engine }: { engine: RunEngine }) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const query = parseWith(oddsQuery, c.req.query());
    const platforms = engine.platforms.names;
    if (query.platform !== undefined && !platforms.includes(query.platform)) {
      throw new AppError('unknown_platform', 400, `platform ${query.platform} is not configured`, { platforms });
    }
    let afterEventKey: string | undefined;
    if (query.cursor !== undefined) {
      const decoded = decodeOddsCursor(query.cursor);
      if (decoded === null) throw new AppError('invalid_cursor', 400, 'cursor is not one this API returned');
      afterEventKey = decoded;
    }
    return c.json(
      await queryOdds(engine.orm, {
        platforms,
        platform: query.platform,
        search: query.q || undefined,
        limit: query.limit,
        afterEventKey,
      }),
    );
  });
}
