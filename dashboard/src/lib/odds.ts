import type { BookmakerFreshness, BookmakerPrice, OddsSelection, SportingEventOdds } from '@contract';

/** Pure helpers of the Odds page: merging one platform's fresh prices into a page, its columns, staleness, labels. */

function selectionOf(event: SportingEventOdds, market: string, selection: string): OddsSelection {
  let m = event.markets.find((x) => x.name === market);
  if (!m) event.markets.push((m = { name: market, selections: [] }));
  let s = m.selections.find((x) => x.name === selection);
  if (!s) m.selections.push((s = { name: selection, bestPrice: 0, prices: [] }));
  return s;
}

/**
 * Takes what one platform changed into the page shown, in place. `fresh` is GET /api/odds?platform=<it> from
 * the same page token: the first sporting events that platform lists after it, in the server's order (by id).
 * Its prices (every bookmaker it brings) replace its old ones; `bestPrice` (which compares every bookmaker) is
 * taken as sent and the other bookmakers' `best` marks follow it. A sporting event not on the page yet is added
 * only where the server's order puts it inside the page (before one of the page's events, or anywhere on the
 * last page), so the page stays the server's page.
 */
export function mergeBookmakerPrices(page: SportingEventOdds[], fresh: SportingEventOdds[], platform: string, lastPage: boolean): void {
  const onPage = new Map(page.map((event) => [event.id, event]));
  let waiting: SportingEventOdds[] = [];
  for (const event of fresh) {
    const have = onPage.get(event.id);
    if (!have) {
      waiting.push(event);
      continue;
    }
    // New sporting events that the server orders before this one belong on the page, right before it.
    if (waiting.length) page.splice(page.indexOf(have), 0, ...waiting);
    waiting = [];
    have.eventName = event.eventName;
    have.startsAt = event.startsAt;
    have.listings = event.listings;
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

/** One column of the Odds page: a bookmaker as one platform brings it (the same bookmaker through two platforms is two columns). */
export interface BookmakerColumn {
  key: string;
  bookmaker: string;
  platform: string;
}

/** "copperbet via oddsline" for a bookmaker another platform brings; the platform's own name otherwise. */
export const columnLabel = (column: Pick<BookmakerColumn, 'bookmaker' | 'platform'>): string =>
  column.bookmaker === column.platform ? column.bookmaker : `${column.bookmaker} via ${column.platform}`;

/**
 * The columns of a page: per platform, in configuration order, the bookmakers its prices on the page come from
 * (the platform itself first, then by name). A platform without a price on the page still gets its own column,
 * so that its freshness shows.
 */
export function bookmakerColumns(platforms: readonly string[], events: readonly SportingEventOdds[]): BookmakerColumn[] {
  const seen = new Map<string, Set<string>>();
  for (const event of events)
    for (const market of event.markets)
      for (const selection of market.selections)
        for (const price of selection.prices) {
          let bookmakers = seen.get(price.platform);
          if (!bookmakers) seen.set(price.platform, (bookmakers = new Set()));
          bookmakers.add(price.bookmaker);
        }
  return platforms.flatMap((platform) => {
    const bookmakers = [...(seen.get(platform) ?? [platform])].sort((a, b) => (a === platform ? -1 : b === platform ? 1 : a.localeCompare(b)));
    return bookmakers.map((bookmaker) => ({ key: `${platform}/${bookmaker}`, bookmaker, platform }));
  });
}

/** The price as the platform wrote it, when that is not just the decimal shown ("+140", "7/5"; not "2.4" for 2.40). */
export function writtenOtherwise(price: Pick<BookmakerPrice, 'price' | 'priceText'>): string | null {
  const text = price.priceText?.trim();
  if (!text) return null;
  return /^\d+(\.\d+)?$/.test(text) && Number(text) === price.price ? null : text;
}

const SELECTION_ORDER = ['home', 'draw', 'away'];

/** A match result reads home, draw, away; other selections keep the server's order. */
export function orderedSelections(selections: readonly OddsSelection[]): OddsSelection[] {
  const rank = (name: string) => {
    const at = SELECTION_ORDER.indexOf(name);
    return at === -1 ? SELECTION_ORDER.length : at;
  };
  return [...selections].sort((a, b) => rank(a.name) - rank(b.name));
}

/**
 * How fresh a platform is, and so every bookmaker it brings, as GET /api/odds says (`bookmakers[]`, one per
 * platform: the one definition of stale, no successful scrape for over 3 scrape intervals, decided by the service). `stale` is the API's flag at the time of the
 * response; `staleAt` carries it forward while the page stays open without news (the moment the API's own
 * rule turns it stale, unless a success comes first: a success refetches that platform). Never computed
 * here from price times or intervals. `never`: no successful scrape at all (its prices, if any, come from
 * failed scrapes); `unknown`: the API said nothing about this platform.
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
