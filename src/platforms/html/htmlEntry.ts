import { load } from 'cheerio';
import { z } from 'zod';
import { commonEntryKeys, httpUrl, maxPagesKey } from '../entry.js';
import { storedName } from '../storedValues.js';

/**
 * An `html` entry (docs/kinds/html.md): server-rendered pages read with CSS selectors (cheerio). A selector
 * cheerio cannot run is refused here, at start-up, not on the first scrape.
 */

const probe = load('<p></p>');
function isSelector(selector: string): boolean {
  try {
    probe(selector);
    return true;
  } catch {
    return false;
  }
}

export const css = z.string().min(1).max(500).refine(isSelector, { error: 'is not a CSS selector cheerio can run' });

/**
 * Where a value is on the page, within a row (or within a repeated element of a market): a selector
 * string reads the text of the first element it finds (trimmed, whitespace collapsed, script/style text
 * left out); `{ selector, attribute }` reads that attribute instead, `selector: ""` being the row itself.
 */
export const htmlValue = z.union([
  css,
  z
    .object({
      selector: z.union([z.literal(''), css]),
      attribute: z.string().regex(/^[A-Za-z_:][A-Za-z0-9_:.-]{0,80}$/, 'an attribute name').optional(),
    })
    .strict(),
]);
export type HtmlValue = z.infer<typeof htmlValue>;

const unique = (names: string[]) => new Set(names).size === names.length;

/**
 * A market: its selections named in the entry, each with its price (`{ "name": "home", "price": ".odds-1" }`),
 * or repeated elements `each` with the selection's name and price read within each one.
 */
const htmlMarket = z.union([
  z
    .object({
      name: storedName,
      selections: z
        .array(z.object({ name: storedName, price: htmlValue }).strict())
        .min(1)
        .max(50)
        .refine((selections) => unique(selections.map((selection) => selection.name)), { error: 'selection names must be unique' }),
    })
    .strict(),
  z.object({ name: storedName, each: css, selection: htmlValue, price: htmlValue }).strict(),
]);
export type HtmlMarket = z.infer<typeof htmlMarket>;

/**
 * How an `html` platform pages (absent: one page). `nextLink`: the `href` of the first element that
 * selector finds, followed while it stays on the origin of `url`; `param`: `url` with `param`=start,
 * start+1, … Either ends at a page without rows or after `maxPages` (default DEFAULT_MAX_PAGES).
 */
export const htmlPagination = z.union([
  z.object({ nextLink: css, maxPages: maxPagesKey }).strict(),
  z.object({ param: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/), start: z.number().int().min(0).max(1).default(1), maxPages: maxPagesKey }).strict(),
]);
export type HtmlPagination = z.infer<typeof htmlPagination>;

/** One row per sporting event, found by `event`; every other value is read within the row (html and browser `dom`). */
export const htmlRows = z
  .object({
    event: css,
    id: htmlValue,
    name: htmlValue.optional(),
    home: htmlValue.optional(),
    away: htmlValue.optional(),
    startsAt: htmlValue.optional(),
    /** What the platform shows on a page without sporting events ("No events today"): zero events, not a changed layout. */
    none: css.optional(),
    markets: z
      .array(htmlMarket)
      .min(1)
      .max(50)
      .refine((markets) => unique(markets.map((market) => market.name)), { error: 'market names must be unique' }),
  })
  .strict()
  .refine((rows) => (rows.home === undefined) === (rows.away === undefined), { error: 'home and away go together' })
  .refine((rows) => rows.name !== undefined || rows.home !== undefined, { error: 'needs name, or home and away' });
export type HtmlRows = z.infer<typeof htmlRows>;

/** `html`: one row per sporting event, found by `rows.event`; every other value is read within the row. */
export const htmlEntry = z
  .object({
    ...commonEntryKeys,
    kind: z.literal('html'),
    url: httpUrl,
    pagination: htmlPagination.optional(),
    rows: htmlRows,
  })
  .strict();
export type HtmlEntry = z.infer<typeof htmlEntry>;
