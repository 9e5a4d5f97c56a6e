import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { decodeOddsCursor, queryOdds } from '../../odds/oddsQuery.js';
import type { Orm } from '../../db/database.js';
import type { Platforms } from '../../platforms/registry.js';
import type { AppEnv } from '../appEnv.js';
import { validate } from '../errors.js';

const oddsQuery = z
  .object({
    platform: z.string().min(1).max(100).optional(),
    q: z
      .string()
      .max(100, 'search at most 100 characters')
      .transform((value) => value.trim())
      .optional(),
    limit: z.coerce.number({ error: 'expected an integer from 1 to 50' }).int().min(1).max(50).default(20),
    cursor: z.string().max(1000).optional(),
  })
  .strict();

/** GET /api/odds: sporting events with every bookmaker's latest prices (see src/odds/oddsQuery.ts). */
export function createOddsRoutes({ orm, platforms: configured }: { orm: Orm; platforms: Pick<Platforms, 'names'> }) {
  return new Hono<AppEnv>().get('/', validate('query', oddsQuery), async (c) => {
    const query = c.req.valid('query');
    const platforms = configured.names;
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
      await queryOdds(orm, {
        platforms,
        platform: query.platform,
        search: query.q || undefined,
        limit: query.limit,
        afterEventKey,
      }),
    );
  });
}
