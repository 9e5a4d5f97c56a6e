import { z } from 'zod';
import { commonEntryKeys, httpUrl } from '../entry.js';
import { css, htmlRows } from '../html/htmlEntry.js';

/**
 * A `browser` entry (docs/kinds/browser.md): a page that renders only in a browser, opened in Chromium.
 * Odds are read one of two ways: `capture` (the JSON responses the page's own script fetches, each mapped
 * by `select` as a `json` platform's response is; `captureLast` says which is the last) or `dom` (the rendered page read by the `html` kind's
 * CSS shape once `dom.waitFor` appears). Optional `actions` run first.
 */

const expression = z.string().min(1).max(20_000);

/** `/regex/` (with optional flags i, m, s, u) or a plain substring of the response's URL. */
const capturePattern = z
  .string()
  .min(1)
  .max(500)
  .refine((pattern) => urlMatcher(pattern) !== undefined, { error: 'is not a valid /regular expression/' });

/**
 * How `capture` matches a response's URL: `/…/flags` is a regular expression, anything else a substring.
 * Undefined for a `/…/` that does not compile.
 */
export function urlMatcher(pattern: string): ((url: string) => boolean) | undefined {
  const regex = /^\/(.+)\/([imsu]*)$/.exec(pattern);
  if (!regex) return (url) => url.includes(pattern);
  try {
    const compiled = new RegExp(regex[1]!, regex[2]);
    return (url) => compiled.test(url);
  } catch {
    return undefined;
  }
}

const waitTimeoutMs = z.number().int().min(100).max(120_000);

/**
 * What runs on the page before odds are read, in order, each bounded by its own timeout (else the entry's
 * `waitTimeoutMs`): `click` an element (a cookie banner: `optional` when it may not be there), `scroll` to
 * the bottom that many times (a page that loads more as it is scrolled), `waitFor` an element.
 */
const action = z.union([
  z.object({ click: css, optional: z.boolean().default(false), timeoutMs: waitTimeoutMs.optional() }).strict(),
  z.object({ scroll: z.number().int().min(1).max(50), timeoutMs: waitTimeoutMs.optional() }).strict(),
  z.object({ waitFor: css, timeoutMs: waitTimeoutMs.optional() }).strict(),
]);
export type BrowserAction = z.infer<typeof action>;

/** Resources a page loads only when its entry asks for them (the rest is refused: no images, fonts or media by default). */
export const OPTIONAL_RESOURCES = ['image', 'font', 'media'] as const;

export const browserEntry = z
  .object({
    ...commonEntryKeys,
    kind: z.literal('browser'),
    url: httpUrl,
    /** Capture mode: the URLs of the JSON responses to read (substring or `/regex/`), and their mapping. */
    capture: capturePattern.optional(),
    select: expression.optional(),
    /**
     * Capture mode, optional: JSONata on each captured response, true on the last one the page fetches (its
     * "no next page"). The step then reads until it holds, ending there at once: no quiet wait, and a page
     * that asks for nothing more for `waitTimeoutMs` before it holds fails the step (`layout`).
     */
    captureLast: expression.optional(),
    /** Capture mode without `captureLast`: how long after the last captured response, with none in flight, the page counts as read (default 500 ms; a page that pauses longer between its requests needs more). */
    captureQuietMs: z.number().int().min(100).max(10_000).optional(),
    /** DOM mode: the element that says the odds are rendered, then the `html` kind's rows. */
    dom: z.object({ waitFor: css, rows: htmlRows }).strict().optional(),
    actions: z.array(action).max(20).default([]),
    /** How long each wait (an element, the first captured response) may take: past it the step fails as `layout`. */
    waitTimeoutMs: waitTimeoutMs.default(10_000),
    /** Text whose presence in the page marks a challenge page (`blocked`), besides the common CDNs' markers. */
    blockedMarker: z.string().min(1).max(200).optional(),
    load: z.array(z.enum(OPTIONAL_RESOURCES)).max(3).default([]),
  })
  .strict()
  .refine((entry) => (entry.capture === undefined) !== (entry.dom === undefined), { error: 'needs capture (with select) or dom, not both' })
  .refine((entry) => (entry.capture === undefined) === (entry.select === undefined), { path: ['select'], error: 'goes with capture, and capture needs it' })
  .refine((entry) => entry.captureLast === undefined || entry.capture !== undefined, { path: ['captureLast'], error: 'goes with capture' })
  .refine((entry) => entry.captureQuietMs === undefined || (entry.capture !== undefined && entry.captureLast === undefined), { path: ['captureQuietMs'], error: 'goes with capture, without captureLast' });
export type BrowserEntry = z.infer<typeof browserEntry>;
