import type { z } from 'zod';
import type { ScrapedSelection, ScrapeObserver } from './adapter.js';
import { parsePrice } from './prices.js';

/** A selection without its price: what every kind reads before the price is parsed. */
export type UnpricedSelection = Omit<ScrapedSelection, 'price' | 'priceText'>;

/**
 * Adds one selection to `batch` with its price parsed (prices.ts), or counts its price as rejected and
 * drops it: a bad price is the platform's, contained to that one selection.
 */
export function collectSelection(batch: ScrapedSelection[], observer: Pick<ScrapeObserver, 'rejectedPrice'>, selection: UnpricedSelection, rawPrice: unknown): void {
  const parsed = parsePrice(rawPrice);
  if ('rejected' in parsed) {
    observer.rejectedPrice(parsed.rejected);
    return;
  }
  batch.push({ ...selection, price: parsed.price, priceText: parsed.text });
}

/** Where and what, never the value: a refused name may be huge, hold control characters or a secret. */
export function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const where = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
  return `${where || 'page'} ${issue.message}`.slice(0, 200);
}
