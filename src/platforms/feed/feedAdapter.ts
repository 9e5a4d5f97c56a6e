import { z } from 'zod';
import { PlatformError, type PlatformAdapter, type ScrapedSelection } from '../adapter.js';
import { collectSelection, describeIssue } from '../mapping.js';
import { createPlatformHttp, parseJsonBody } from '../platformHttp.js';
import type { PlatformEntry } from '../platformsFile.js';
import { redactUrl } from '../redact.js';
import { storedName } from '../storedValues.js';

/**
 * The `feed` kind: `GET {baseUrl}/events?page=N` ->
 * `{ page, totalPages, events: [{ id, name, home?, away?, startsAt?, markets: [{ name, selections: [{ name, price }] }] }] }`.
 * A price is a decimal number or a price text (prices.ts); an invalid one is dropped and counted.
 */
const feedPage = z.object({
  page: z.number().int().min(1),
  totalPages: z.number().int().min(1).max(10_000),
  events: z.array(
    z.object({
      id: storedName,
      name: storedName,
      home: storedName.optional(),
      away: storedName.optional(),
      startsAt: z.iso.datetime({ offset: true }).optional(),
      markets: z.array(
        z.object({
          name: storedName,
          selections: z.array(z.object({ name: storedName, price: z.unknown() })),
        }),
      ),
    }),
  ),
});

/** `{baseUrl}/events?page=N`, keeping the base's own query (an API key) and its userinfo (sent as a header). */
export function feedPageUrl(baseUrl: string, page: number): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/events`;
  url.searchParams.set('page', String(page));
  return url.toString();
}

export function createFeedAdapter(entry: Extract<PlatformEntry, { kind: 'feed' }>): PlatformAdapter {
  const base = new URL(entry.baseUrl);
  const querySecrets = [...base.searchParams.values()];
  const http = createPlatformHttp(entry, querySecrets);
  return {
    name: entry.name,
    kind: 'feed',
    baseUrl: redactUrl(entry.baseUrl.replace(/\/+$/, '')),
    timeoutMs: entry.timeoutMs,
    async scrape(signal, onProgress, observer, maxPages = Number.POSITIVE_INFINITY) {
      let eventsFound = 0;
      for (let page = 1, totalPages = 1; page <= totalPages && page <= maxPages; page += 1) {
        const response = await http.request({ url: feedPageUrl(entry.baseUrl, page), accept: 'application/json', page }, signal, observer);
        const parsed = feedPage.safeParse(parseJsonBody(response.text, page));
        if (!parsed.success) throw new PlatformError('parse', `page ${page} is malformed: ${describeIssue(parsed.error.issues[0])}`);
        totalPages = parsed.data.totalPages;
        const batch: ScrapedSelection[] = [];
        for (const event of parsed.data.events) {
          for (const market of event.markets) {
            for (const selection of market.selections) {
              collectSelection(batch, observer, {
                eventKey: event.id,
                eventName: event.name,
                ...(event.home === undefined ? {} : { home: event.home }),
                ...(event.away === undefined ? {} : { away: event.away }),
                ...(event.startsAt === undefined ? {} : { startsAt: new Date(event.startsAt).toISOString() }),
                market: market.name,
                selection: selection.name,
                bookmaker: entry.name,
              }, selection.price);
            }
          }
        }
        eventsFound += parsed.data.events.length;
        await onProgress({ eventsFound, batch });
      }
      return eventsFound;
    },
  };
}
