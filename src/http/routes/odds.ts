import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../errors.js';
import { decodeOddsCursor, queryOdds } from '../../odds/oddsQuery.js';
import { selectFrozen } from '../../db/tables/bookmakerQuality.js';
import { MAX_FROZEN_SERIES } from '../../quality/frozenBookmakers.js';
import type { Orm } from '../../db/database.js';
import { freshnessOf, lastSuccesses, staleAfterSeconds } from '../../liveState/staleness.js';
import type { OddsPage } from '../../shared/contract.js';
import type { Platforms } from '../../platforms/registry.js';
import { errorResponses, USES_DATABASE } from '../openapi.js';
import { validatedRoutes } from '../validation.js';

const oddsQuery = z
  .object({
    platform: z.string().min(1).max(100).optional(),
    bookmaker: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'a bookmaker key: letters, digits, _ . -').optional(),
    q: z
      .string()
      .max(100, 'search at most 100 characters')
      .transform((value) => value.trim())
      .optional(),
    limit: z.coerce.number({ error: 'expected an integer from 1 to 50' }).int().min(1).max(50).default(20),
    cursor: z.string().max(1000).optional(),
  })
  .strict();

const oddsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: "Sporting events with every bookmaker's latest prices, and how fresh each bookmaker is",
  request: { query: oddsQuery },
  responses: {
    200: { description: 'OddsPage' },
    ...errorResponses(USES_DATABASE, { 400: ['invalid_request', 'unknown_platform', 'invalid_cursor'] }),
  },
});

export interface OddsRoutesDeps {
  orm: Orm;
  platforms: Pick<Platforms, 'names'>;
  /** The scrape job's current interval (the scheduler's, so an edit through the API counts at once). */
  scrapeIntervalSeconds(): number;
  /** QUALITY_OUTLIER_THRESHOLD. */
  outlierThreshold: number;
}

/**
 * GET /api/odds: sporting events with every bookmaker's latest prices (see src/odds/oddsQuery.ts), and how fresh
 * each bookmaker it covers is (src/liveState/staleness.ts: the one definition of stale).
 */
export function createOddsRoutes({ orm, platforms: configured, scrapeIntervalSeconds, outlierThreshold }: OddsRoutesDeps) {
  return validatedRoutes().openapi(oddsRoute, async (c) => {
    const query = c.req.valid('query');
    const platforms = configured.names;
    if (query.platform !== undefined && !platforms.includes(query.platform)) {
      throw new AppError('unknown_platform', 400, `platform ${query.platform} is not configured`, { platforms });
    }
    let afterId: number | undefined;
    if (query.cursor !== undefined) {
      const decoded = decodeOddsCursor(query.cursor);
      if (decoded === null) throw new AppError('invalid_cursor', 400, 'cursor is not one this API returned');
      afterId = decoded;
    }
    const covered = query.platform !== undefined ? [query.platform] : platforms;
    const [page, successes, judged] = await Promise.all([
      queryOdds(orm, { platforms, platform: query.platform, bookmaker: query.bookmaker, search: query.q || undefined, limit: query.limit, afterId }, outlierThreshold),
      lastSuccesses(orm, covered),
      selectFrozen(orm, covered, MAX_FROZEN_SERIES),
    ]);
    const intervalSeconds = scrapeIntervalSeconds();
    const now = Date.now();
    return c.json<OddsPage>({
      ...page,
      bookmakers: covered.map((platform) => freshnessOf(platform, successes.get(platform) ?? null, intervalSeconds, now)),
      scrapeIntervalSeconds: intervalSeconds,
      staleAfterSeconds: staleAfterSeconds(intervalSeconds),
      outlierThreshold,
      frozenBookmakers: judged.filter((verdict) => verdict.frozen).map(({ platform, bookmaker }) => ({ platform, bookmaker })),
    });
  });
}
