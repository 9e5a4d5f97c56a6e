import { z } from 'zod';
import { commonEntryKeys, httpUrl, maxPagesKey } from '../entry.js';

const expression = z.string().min(1).max(20_000);
const paramName = z.string().regex(/^[A-Za-z0-9_.[\]-]{1,100}$/, 'a query parameter name');

/**
 * How a `json` platform pages: absent, one request. `page`: `param`=1,2,… until `total` (a JSONata
 * expression on the response giving the number of pages) or an empty page; `offset`: `param`=0,limit,…
 * with `limitParam`=limit until an empty or short page; `cursor`: `next` (JSONata) gives the next cursor,
 * sent as `param`, or, without `param`, the next URL (same origin only); ends when it yields nothing.
 */
export const jsonPagination = z.discriminatedUnion('style', [
  z.object({ style: z.literal('page'), param: paramName.default('page'), start: z.number().int().min(0).max(1).default(1), total: expression.optional(), maxPages: maxPagesKey }).strict(),
  z.object({ style: z.literal('offset'), param: paramName.default('offset'), limitParam: paramName.optional(), limit: z.number().int().min(1).max(10_000), maxPages: maxPagesKey }).strict(),
  z.object({ style: z.literal('cursor'), next: expression, param: paramName.optional(), maxPages: maxPagesKey }).strict(),
]);
export type JsonPagination = z.infer<typeof jsonPagination>;

/**
 * `json`: a bookmaker's own JSON endpoint. `select` is a JSONata expression that turns one response into
 * an array of `{ eventId, eventName, home?, away?, startsAt?, market, selection, price }`.
 */
export const jsonEntry = z
  .object({
    ...commonEntryKeys,
    kind: z.literal('json'),
    url: httpUrl,
    method: z.enum(['GET', 'POST']).default('GET'),
    /** The request body (POST, GraphQL): a JSON value sent as application/json, or text sent as it is. */
    body: z.union([z.string().max(100_000), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
    pagination: jsonPagination.optional(),
    select: expression,
  })
  .strict()
  .refine((entry) => entry.body === undefined || entry.method === 'POST', { path: ['body'], error: 'is sent only with method POST' });
export type JsonEntry = z.infer<typeof jsonEntry>;
