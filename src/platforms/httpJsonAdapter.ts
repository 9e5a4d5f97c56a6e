import { z } from 'zod';
import { PlatformError, type PlatformAdapter, type ScrapedSelection } from './adapter.js';

/**
 * Reads a bookmaker's JSON feed: `GET {baseUrl}/events?page=N` ->
 * `{ page, totalPages, events: [{ id, name, markets: [{ name, selections: [{ name, price }] }] }] }`.
 */
const feedPage = z.object({
  page: z.number().int().min(1),
  totalPages: z.number().int().min(1).max(10_000),
  events: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string().min(1),
      markets: z.array(
        z.object({
          name: z.string().min(1),
          selections: z.array(z.object({ name: z.string().min(1), price: z.number().gt(1).lt(10_000) })),
        }),
      ),
    }),
  ),
});

export interface HttpJsonPlatform {
  name: string;
  baseUrl: string;
  timeoutMs: number;
}

export function createHttpJsonAdapter(platform: HttpJsonPlatform): PlatformAdapter {
  const base = platform.baseUrl.replace(/\/+$/, '');
  return {
    name: platform.name,
    baseUrl: base,
    timeoutMs: platform.timeoutMs,
    async scrape(signal, onProgress) {
      let eventsFound = 0;
      for (let page = 1, totalPages = 1; page <= totalPages; page += 1) {
        const response = await fetch(`${base}/events?page=${page}`, { signal, headers: { accept: 'application/json' } });
        if (!response.ok) {
          await response.body?.cancel();
          throw new PlatformError(`feed answered HTTP ${response.status} on page ${page}`);
        }
        const parsed = feedPage.safeParse(await response.json());
        if (!parsed.success) throw new PlatformError(`feed page ${page} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        totalPages = parsed.data.totalPages;
        const batch: ScrapedSelection[] = parsed.data.events.flatMap((event) =>
          event.markets.flatMap((market) =>
            market.selections.map((selection) => ({
              eventKey: event.id,
              eventName: event.name,
              market: market.name,
              selection: selection.name,
              price: selection.price,
            })),
          ),
        );
        eventsFound += parsed.data.events.length;
        await onProgress({ eventsFound, batch });
      }
      return eventsFound;
    },
  };
}
