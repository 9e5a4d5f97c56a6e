import { z } from 'zod';
import { PlatformError, type ScrapedSelection, type ScrapeObserver } from '../adapter.js';
import { collectSelection, describeIssue } from '../mapping.js';
import { storedName } from '../storedValues.js';

/** Epoch milliseconds outside these years are no kick-off (epoch seconds read as milliseconds land in 1970). */
const EARLIEST_MS = Date.UTC(2000, 0, 1);
const LATEST_MS = Date.UTC(2100, 0, 1);
const isoDateTime = z.iso.datetime({ offset: true });

/**
 * One item `select` yields: a price of one selection, with its sporting event. Keys it does not name are
 * refused (a `startAt` typo would otherwise drop every start time in silence); null reads as absent.
 */
const selectedItem = z
  .object({
    eventId: z.union([storedName, z.int()], { error: 'is no id (text or an integer)' }).transform(String),
    eventName: storedName,
    home: storedName.nullish(),
    away: storedName.nullish(),
    startsAt: z.unknown().transform((value, ctx) => {
      if (value === undefined || value === null) return undefined;
      const epochMs = typeof value === 'number' && Number.isInteger(value) && value >= EARLIEST_MS && value <= LATEST_MS;
      if (!epochMs && !isoDateTime.safeParse(value).success) {
        ctx.addIssue({ code: 'custom', message: 'is no ISO date-time with its offset, nor epoch milliseconds' });
        return z.NEVER;
      }
      return new Date(value as string | number).toISOString();
    }).optional(),
    market: storedName,
    selection: storedName,
    price: z.unknown(),
  })
  .strict();

/** What one page's items hold, once validated. */
export interface CollectedItems {
  batch: ScrapedSelection[];
  /** Distinct sporting events among the items. */
  events: number;
}

/**
 * Validates each item and collects its price. A malformed item (no eventId, market or selection, a name
 * the database cannot store) fails the page as `parse`, naming the item and the key: the mapping does not
 * fit this response, and silently dropping items would hide that. A bad price drops that price alone and
 * is counted (collectSelection).
 */
export function collectItems(items: readonly unknown[], page: number, bookmaker: string, observer: Pick<ScrapeObserver, 'rejectedPrice'>): CollectedItems {
  const batch: ScrapedSelection[] = [];
  const events = new Set<string>();
  items.forEach((item, index) => {
    const parsed = selectedItem.safeParse(item);
    if (!parsed.success) throw new PlatformError('parse', `page ${page}: select item ${index}: ${describe(parsed.error.issues[0])}`);
    const { eventId, eventName, home, away, startsAt, market, selection, price } = parsed.data;
    events.add(eventId);
    collectSelection(batch, observer, {
      eventKey: eventId,
      eventName,
      ...(home ? { home } : {}),
      ...(away ? { away } : {}),
      ...(startsAt ? { startsAt } : {}),
      market,
      selection,
      bookmaker,
    }, price);
  });
  return { batch, events: events.size };
}

/** Unknown keys can come from the response (a select that passes its objects through): named only when they look like names. */
function describe(issue: z.core.$ZodIssue | undefined): string {
  if (issue?.path.length === 0 && issue.code === 'invalid_type') return 'is no object';
  if (issue?.code !== 'unrecognized_keys') return describeIssue(issue);
  const names = issue.keys.filter((key) => /^[A-Za-z_$][\w$]{0,40}$/.test(key)).slice(0, 5);
  return names.length > 0 ? `has keys select may not yield: ${names.join(', ')}` : 'has keys select may not yield';
}
