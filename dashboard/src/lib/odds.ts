import type { BookmakerPrice, OddsSelection, PlatformInfo, SportingEventOdds } from '@contract';

/** Pure helpers of the Odds page: merging one bookmaker's fresh prices into a page, staleness, labels. */

function selectionOf(event: SportingEventOdds, market: string, selection: string): OddsSelection {
  let m = event.markets.find((x) => x.name === market);
  if (!m) event.markets.push((m = { name: market, selections: [] }));
  let s = m.selections.find((x) => x.name === selection);
  if (!s) m.selections.push((s = { name: selection, bestPrice: 0, prices: [] }));
  return s;
}

/**
 * Takes what one bookmaker changed into the page shown, in place. `fresh` is GET /api/odds?platform=<it> from
 * the same page token: the first sporting events that bookmaker prices after it, in the server's order. Its
 * prices replace the bookmaker's old ones; `bestPrice` (which compares every bookmaker) is taken as sent and
 * the other bookmakers' `best` marks follow it. A sporting event not on the page yet is added only where the
 * server's order puts it inside the page (before one of the page's events, or anywhere on the last page): the
 * client never compares event keys itself, as the database's collation decides their order.
 */
export function mergeBookmakerPrices(page: SportingEventOdds[], fresh: SportingEventOdds[], platform: string, lastPage: boolean): void {
  const onPage = new Map(page.map((event) => [event.eventKey, event]));
  let waiting: SportingEventOdds[] = [];
  for (const event of fresh) {
    const have = onPage.get(event.eventKey);
    if (!have) {
      waiting.push(event);
      continue;
    }
    // New sporting events that the server orders before this one belong on the page, right before it.
    if (waiting.length) page.splice(page.indexOf(have), 0, ...waiting);
    waiting = [];
    have.eventName = event.eventName;
    for (const market of event.markets) {
      for (const selection of market.selections) {
        const target = selectionOf(have, market.name, selection.name);
        target.prices = [...target.prices.filter((p) => p.platform !== platform), ...selection.prices];
        target.bestPrice = selection.bestPrice;
        for (const price of target.prices) price.best = price.price === selection.bestPrice;
      }
    }
  }
  if (lastPage) page.push(...waiting);
}

/** Bookmaker not scraped successfully for over two scrape intervals (unknown interval: never stale). */
export function isStale(info: PlatformInfo | undefined, intervalSeconds: number | null, now: number): boolean {
  if (intervalSeconds == null) return false;
  const last = info?.lastSuccessAt ? Date.parse(info.lastSuccessAt) : NaN;
  return !Number.isFinite(last) || now - last > 2 * intervalSeconds * 1000;
}

export const formatPrice = (price: number): string => price.toFixed(2);

/** What a screen reader hears for the movement (the arrow is decorative). */
export function movementText(price: BookmakerPrice): string {
  switch (price.movement) {
    case 'up':
      return `up from ${formatPrice(price.previousPrice ?? 0)}`;
    case 'down':
      return `down from ${formatPrice(price.previousPrice ?? 0)}`;
    case 'new':
      return 'new price';
    default:
      return 'unchanged';
  }
}

export const MOVEMENT_GLYPH = { up: '▲', down: '▼', new: 'new', unchanged: '' } as const;

/** `total_goals_2.5` -> "Total goals 2.5", `match_result` -> "Match result". */
export function humanName(name: string): string {
  const spaced = name.replace(/_/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
