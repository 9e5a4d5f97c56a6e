import type { Orm } from '../db/database.js';
import { selectOddsPage, type OddsFilter, type OddsRow } from '../db/tables/odds.js';
import { consensusOf } from '../quality/outliers.js';
import type { BookmakerPrice, OddsMarket, OddsPage, PriceMovement, SportingEventOdds } from '../shared/contract.js';

/**
 * The read model of GET /api/odds: a page of sporting events (oddswatch's own, matched across platforms;
 * in id order, keyset paginated) with every configured platform's bookmakers' latest price per selection,
 * the best price marked, outliers against the other bookmakers' consensus marked (quality/outliers.ts), and
 * the movement since that bookmaker's previous scrape (stored beside the price).
 */

export async function queryOdds(orm: Orm, filter: OddsFilter, outlierThreshold: number): Promise<Pick<OddsPage, 'items' | 'nextCursor'>> {
  const rows = await selectOddsPage(orm, filter);
  const events = groupRows(rows, outlierThreshold);
  const items = events.slice(0, filter.limit).map((event) => narrowed(event, filter));
  const last = items.at(-1);
  return { items, nextCursor: events.length > filter.limit && last ? encodeOddsCursor(last.id) : null };
}

/** Rows arrive ordered by sporting event, market, selection, bookmaker: fold them into the nested shape. */
function groupRows(rows: OddsRow[], outlierThreshold: number): SportingEventOdds[] {
  const events: SportingEventOdds[] = [];
  for (const row of rows) {
    const id = Number(row.sporting_event_id);
    let event = events.at(-1);
    if (event?.id !== id) {
      event = { id, eventName: row.sporting_event_name, startsAt: row.starts_at === null ? null : new Date(row.starts_at).toISOString(), listings: [], markets: [] };
      events.push(event);
    }
    if (!event.listings.some((listing) => listing.platform === row.platform && listing.eventKey === row.event_key)) {
      event.listings.push({ platform: row.platform, eventKey: row.event_key, eventName: row.event_name });
    }
    let market = event.markets.at(-1);
    if (market?.name !== row.market) {
      market = { name: row.market, selections: [] };
      event.markets.push(market);
    }
    let selection = market.selections.at(-1);
    if (selection?.name !== row.selection) {
      selection = { name: row.selection, bestPrice: 0, prices: [] };
      market.selections.push(selection);
    }
    const price = toPrice(row);
    selection.prices.push(price);
    selection.bestPrice = Math.max(selection.bestPrice, price.price);
  }
  for (const event of events) event.listings.sort((a, b) => a.platform.localeCompare(b.platform));
  for (const selection of events.flatMap((event) => event.markets.flatMap((market) => market.selections))) {
    for (const price of selection.prices) price.best = price.price === selection.bestPrice;
    const judged = consensusOf(selection.prices.map((price) => price.price), outlierThreshold);
    selection.prices.forEach((price, index) => Object.assign(price, judged[index]));
  }
  return events;
}

/** Only the filtered platform's or bookmaker's prices; best prices still compare every bookmaker. */
function narrowed(event: SportingEventOdds, filter: OddsFilter): SportingEventOdds {
  if (!filter.platform && !filter.bookmaker) return event;
  const keep = (price: BookmakerPrice) => (!filter.platform || price.platform === filter.platform) && (!filter.bookmaker || price.bookmaker === filter.bookmaker);
  const markets: OddsMarket[] = event.markets
    .map((market) => ({
      ...market,
      selections: market.selections
        .map((selection) => ({ ...selection, prices: selection.prices.filter(keep) }))
        .filter((selection) => selection.prices.length > 0),
    }))
    .filter((market) => market.selections.length > 0);
  return { ...event, markets };
}

function toPrice(row: OddsRow): BookmakerPrice {
  const price = Number(row.price);
  const previousPrice = row.previous_price === null ? null : Number(row.previous_price);
  return {
    bookmaker: row.bookmaker,
    platform: row.platform,
    price,
    priceText: row.price_text,
    best: false,
    scrapedAt: new Date(row.scraped_at).toISOString(),
    runId: Number(row.run_id),
    movement: movementOf(price, previousPrice),
    previousPrice,
    previousScrapedAt: row.previous_scraped_at === null ? null : new Date(row.previous_scraped_at).toISOString(),
    consensus: null,
    outlier: false,
  };
}

function movementOf(price: number, previous: number | null): PriceMovement {
  if (previous === null) return 'new';
  return price > previous ? 'up' : price < previous ? 'down' : 'unchanged';
}

export const encodeOddsCursor = (id: number) => Buffer.from(`s:${id}`).toString('base64url');

/** The sporting event id an opaque page token points after, or null when it is not one of ours. */
export function decodeOddsCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s:(\d{1,18})$/.exec(text);
  return match ? Number(match[1]) : null;
}
