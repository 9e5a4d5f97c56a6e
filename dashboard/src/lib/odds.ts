import type { BookmakerFreshness, BookmakerPrice, OddsSelection, SportingEventOdds } from '@contract';

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

/**
 * How fresh a bookmaker is, as GET /api/odds says (`bookmakers[]`: the one definition of stale, no successful
 * scrape for over 3 scrape intervals, decided by the service). `stale` is the API's flag at the time of the
 * response; `staleAt` carries it forward while the page stays open without news (the moment the API's own
 * rule turns it stale, unless a success comes first: a success refetches that bookmaker). Never computed
 * here from price times or intervals. `never`: no successful scrape at all (its prices, if any, come from
 * failed scrapes); `unknown`: the API said nothing about this bookmaker.
 */
export type BookmakerState = 'fresh' | 'stale' | 'never' | 'unknown';

export function bookmakerState(freshness: BookmakerFreshness | undefined, now: number): BookmakerState {
  if (!freshness) return 'unknown';
  if (freshness.lastSuccessAt === null) return 'never';
  const staleAt = freshness.staleAt ? Date.parse(freshness.staleAt) : NaN;
  return freshness.stale || now > staleAt ? 'stale' : 'fresh';
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
