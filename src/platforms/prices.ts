import type { RejectedPriceReason } from '../shared/contract.js';
import { MAX_PRICE, PRICE_DECIMALS } from './storedValues.js';

/**
 * Prices as bookmakers write them, read into the decimal price oddswatch stores:
 * - decimal: `2.40`, `2,40` (a comma for the point), `2`;
 * - fractional: `7/5`, `100/30`, and `evs`/`evens` (1/1): decimal = 1 + numerator / denominator;
 * - American (moneyline): `+140` (decimal = 1 + 140/100), `-250` (decimal = 1 + 100/250); `+100`/`-100` are evens.
 * A number (JSON) is read as decimal. The result is rounded to PRICE_DECIMALS places; anything else is
 * rejected with a reason, never guessed at.
 */
export type ParsedPrice = { price: number; text: string } | { rejected: RejectedPriceReason; text: string };

// Up to 20 places: a number's own text (String(1 + 1 / 3) has 16) reads as the number does.
const DECIMAL = /^\d{1,7}(?:[.,]\d{1,20})?$/;
const FRACTIONAL = /^(\d{1,7})\s*\/\s*(\d{1,7})$/;
const AMERICAN = /^([+-])(\d{3,7}(?:\.\d{1,4})?)$/;
const EVENS = /^(?:evs|evens|even)$/i;

export function parsePrice(raw: unknown): ParsedPrice {
  if (typeof raw === 'number') return checked(raw, String(raw));
  if (typeof raw !== 'string') return { rejected: raw === null || raw === undefined ? 'empty' : 'malformed', text: textOf(raw) };
  const text = raw.trim();
  if (text === '') return { rejected: 'empty', text: '' };
  const shown = text.slice(0, 40);
  if (EVENS.test(text)) return checked(2, shown);
  if (DECIMAL.test(text)) return checked(Number(text.replace(',', '.')), shown);
  const fraction = FRACTIONAL.exec(text);
  if (fraction) {
    const denominator = Number(fraction[2]);
    if (denominator === 0) return { rejected: 'malformed', text: shown };
    return checked(1 + Number(fraction[1]) / denominator, shown);
  }
  const american = AMERICAN.exec(text);
  if (american) {
    const line = Number(american[2]);
    if (line < 100) return { rejected: 'malformed', text: shown };
    return checked(american[1] === '+' ? 1 + line / 100 : 1 + 100 / line, shown);
  }
  return { rejected: 'malformed', text: shown };
}

/** The decimal price rounded as stored, or the reason it is none. */
function checked(decimal: number, text: string): ParsedPrice {
  if (!Number.isFinite(decimal)) return { rejected: 'malformed', text };
  const price = Number(decimal.toFixed(PRICE_DECIMALS));
  if (price <= 1) return { rejected: 'not_above_one', text };
  if (price >= MAX_PRICE) return { rejected: 'too_high', text };
  return { price, text };
}

function textOf(raw: unknown): string {
  try {
    return String(JSON.stringify(raw) ?? '').slice(0, 40);
  } catch {
    return '';
  }
}
