import { z } from 'zod';

/**
 * What the odds columns can store, checked before anything from a feed is written: a value the database
 * would refuse (a NUL byte, a price that rounds to 1.000, a key too long for the primary-key index) is the
 * platform's own malformed page, never a failed write that looks like a lost database.
 */

/**
 * Longest id or name, in characters. The odds primary key (event_key, market, selection, platform) is a
 * btree index whose rows may not pass 2,704 bytes: three names of 200 characters take at most 2,400 bytes
 * in UTF-8, with room for the platform's name.
 */
export const MAX_NAME_LENGTH = 200;

/** The price column is numeric(12,4): a price is stored rounded to 4 places, and must stay above 1 after that. */
export const PRICE_DECIMALS = 4;
/** Prices at or above this are refused: no bookmaker offers them, and numeric(12,4) tops out below 10^8. */
export const MAX_PRICE = 10_000;

// C0 controls (NUL is refused by PostgreSQL's text type) and DEL; UTF-16 halves without their pair.
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL_BUT_TAB_AND_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const LONE_SURROGATE = new RegExp(LONE_SURROGATES.source); // no /g: test() must not keep a lastIndex

/** An id or a name as the text columns store it: 1 to MAX_NAME_LENGTH characters, no control character, well-formed Unicode. */
export const storedName = z
  .string()
  .min(1, { error: 'is empty' })
  .max(MAX_NAME_LENGTH, { error: `is longer than ${MAX_NAME_LENGTH} characters` })
  .refine((value) => !CONTROL.test(value) && !LONE_SURROGATE.test(value), { error: 'holds a control character or broken Unicode' });

/** A price as numeric(12,4) stores it; null when it is no valid price once rounded. */
export function storedPrice(price: number): number | null {
  if (!Number.isFinite(price)) return null;
  const rounded = Number(price.toFixed(PRICE_DECIMALS));
  return rounded > 1 && rounded < MAX_PRICE ? rounded : null;
}

/** A decimal price from a feed, rounded as stored, refused when that is not above 1 and below MAX_PRICE. */
export const storedPriceSchema = z
  .number()
  .transform((price, ctx) => {
    const stored = storedPrice(price);
    if (stored === null) {
      ctx.addIssue({ code: 'custom', message: `is not a price above 1 and below ${MAX_PRICE} once rounded to ${PRICE_DECIMALS} places` });
      return z.NEVER;
    }
    return stored;
  });

/** Free text bound for a step's error column and its event's JSON: bounded, control characters dropped, lone UTF-16 halves replaced. */
export function storedMessage(text: string, maxLength = 300): string {
  return text.slice(0, maxLength).replace(CONTROL_BUT_TAB_AND_NEWLINE, '').replace(LONE_SURROGATES, '\ufffd');
}
