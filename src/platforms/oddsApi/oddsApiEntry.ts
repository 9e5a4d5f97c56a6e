import { z } from 'zod';
import { commonEntryKeys, httpUrl, secretRef } from '../entry.js';

const list = (what: string) => z.string().regex(/^[a-z0-9_]+(,[a-z0-9_]+)*$/, `comma-separated ${what}`);

/**
 * `odds-api`: The Odds API v4 odds endpoint, `GET {baseUrl}/v4/sports/{sport}/odds?regions=&markets=&oddsFormat=decimal&dateFormat=iso&apiKey=`
 * (docs/kinds/odds-api.md). One request brings many bookmakers' prices; the key comes from the environment only.
 */
export const oddsApiEntry = z
  .object({
    ...commonEntryKeys,
    kind: z.literal('odds-api'),
    /** Without a query: the key is `apiKey`, every other parameter a key of the entry. */
    baseUrl: httpUrl
      .refine((url) => new URL(url).search === '' && new URL(url).hash === '', { error: 'must have no query or fragment (the key goes in apiKey)' })
      .default('https://api.the-odds-api.com'),
    sport: z.string().regex(/^[a-z0-9_]{1,80}$/, 'a sport key such as soccer_epl'),
    regions: list('regions such as uk,eu').optional(),
    markets: list('markets such as h2h,totals').default('h2h'),
    /** Only these bookmakers (the API's `bookmakers` parameter, which takes the place of regions). */
    bookmakers: list('bookmaker keys').optional(),
    apiKey: secretRef,
  })
  .strict()
  .refine((entry) => entry.regions !== undefined || entry.bookmakers !== undefined, { error: 'needs regions or bookmakers', path: ['regions'] });
export type OddsApiEntry = z.infer<typeof oddsApiEntry>;
