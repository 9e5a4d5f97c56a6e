import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { sqlArray } from '../db/sqlArray.js';
import type { BookmakerPrice, OddsMarket, OddsPage, PriceMovement, SportingEventOdds } from '../shared/contract.js';

/**
 * The read model of GET /api/odds: a page of sporting events (in event_key order, keyset paginated)
 * with every configured bookmaker's latest price per selection, the best price marked and the movement
 * since that bookmaker's previous scrape (stored beside the price by the upsert).
 */

export interface OddsFilter {
  /** Bookmakers whose prices count (the configured platforms). */
  platforms: string[];
  /** Only this bookmaker's sporting events and prices; best prices still compare every bookmaker. */
  platform?: string;
  /** Case-insensitive substring of the sporting event's name. */
  search?: string;
  limit: number;
  /** Sporting events after this event key (decoded page token). */
  afterEventKey?: string;
}

interface OddsRow {
  event_key: string;
  event_name: string;
  market: string;
  selection: string;
  platform: string;
  price: string;
  scraped_at: Date | string;
  run_id: string;
  previous_price: string | null;
  previous_scraped_at: Date | string | null;
}

/** The page's statement, exported for the bench's EXPLAIN. One page of event keys, then their rows. */
export function oddsPageSql(filter: OddsFilter): { sql: string; params: unknown[] } {
  // Every page walks the primary key (event_key, market, selection, platform) in order; the bookmaker is its last column.
  const where = [filter.platform ? 'o.platform = ?' : 'o.platform = any(?::text[])'];
  const params: unknown[] = [filter.platform ?? sqlArray(filter.platforms)];
  if (filter.search) {
    // The bookmaker's own name for the sporting event, found through the trigram index of sporting_events.
    where.push(`(o.event_key, o.platform) in (select s.event_key, s.platform from sporting_events s where s.event_name ilike ?)`);
    params.push(`%${filter.search.replace(/[\\%_]/g, '\\$&')}%`);
  }
  if (filter.afterEventKey !== undefined) {
    where.push('o.event_key > ?');
    params.push(filter.afterEventKey);
  }
  // One extra sporting event tells whether there is a next page.
  params.push(filter.limit + 1, sqlArray(filter.platforms));
  const sql = `with page as (
      select distinct o.event_key from odds o
      where ${where.join(' and ')}
      order by o.event_key
      limit ?
    )
    select o.event_key, o.event_name, o.market, o.selection, o.platform, o.price, o.scraped_at, o.run_id,
      o.previous_price, o.previous_scraped_at
    from page join odds o on o.event_key = page.event_key
    where o.platform = any(?::text[])
    order by o.event_key, o.market, o.selection, o.platform`;
  return { sql, params };
}

export async function queryOdds(orm: Orm, filter: OddsFilter): Promise<Pick<OddsPage, 'items' | 'nextCursor'>> {
  const { sql, params } = oddsPageSql(filter);
  const rows = await boundRows<OddsRow>(orm, sql, params);
  const events = groupRows(rows);
  const items = events.slice(0, filter.limit).map((event) => (filter.platform ? onlyPlatform(event, filter.platform) : event));
  const last = items.at(-1);
  return { items, nextCursor: events.length > filter.limit && last ? encodeOddsCursor(last.eventKey) : null };
}

/** Rows arrive ordered by event, market, selection, bookmaker: fold them into the nested shape. */
function groupRows(rows: OddsRow[]): SportingEventOdds[] {
  const events: SportingEventOdds[] = [];
  for (const row of rows) {
    let event = events.at(-1);
    if (event?.eventKey !== row.event_key) {
      event = { eventKey: row.event_key, eventName: row.event_name, markets: [] };
      events.push(event);
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
  for (const selection of events.flatMap((event) => event.markets.flatMap((market) => market.selections))) {
    for (const price of selection.prices) price.best = price.price === selection.bestPrice;
  }
  return events;
}

function onlyPlatform(event: SportingEventOdds, platform: string): SportingEventOdds {
  const markets: OddsMarket[] = event.markets
    .map((market) => ({
      ...market,
      selections: market.selections
        .map((selection) => ({ ...selection, prices: selection.prices.filter((price) => price.platform === platform) }))
        .filter((selection) => selection.prices.length > 0),
    }))
    .filter((market) => market.selections.length > 0);
  return { ...event, markets };
}

function toPrice(row: OddsRow): BookmakerPrice {
  const price = Number(row.price);
  const previousPrice = row.previous_price === null ? null : Number(row.previous_price);
  return {
    platform: row.platform,
    price,
    best: false,
    scrapedAt: new Date(row.scraped_at).toISOString(),
    runId: Number(row.run_id),
    movement: movementOf(price, previousPrice),
    previousPrice,
    previousScrapedAt: row.previous_scraped_at === null ? null : new Date(row.previous_scraped_at).toISOString(),
  };
}

function movementOf(price: number, previous: number | null): PriceMovement {
  if (previous === null) return 'new';
  return price > previous ? 'up' : price < previous ? 'down' : 'unchanged';
}

export const encodeOddsCursor = (eventKey: string) => Buffer.from(`o:${eventKey}`).toString('base64url');

/** The event key an opaque page token points after, or null when it is not one of ours. */
export function decodeOddsCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  return text.startsWith('o:') && text.length > 2 ? text.slice(2) : null;
}
