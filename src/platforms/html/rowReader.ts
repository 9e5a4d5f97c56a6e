import type { Cheerio, CheerioAPI } from 'cheerio';
import type { AnyNode } from 'domhandler';
import { PlatformError, type ScrapedSelection, type ScrapeObserver } from '../adapter.js';
import { collectSelection, type UnpricedSelection } from '../mapping.js';
import { storedName } from '../storedValues.js';
import type { HtmlMarket, HtmlRows, HtmlValue } from './htmlEntry.js';

/**
 * One row of sporting event read by the declarative CSS shape (`rows`) of the `html` kind, and of the
 * `browser` kind's `dom` mode on the rendered page.
 */

/** Reads one row's sporting event and adds its priced selections to `batch`. */
export function readRow(rows: HtmlRows, bookmaker: string, $: CheerioAPI, row: Cheerio<AnyNode>, where: string, batch: ScrapedSelection[], observer: ScrapeObserver): void {
  const required = (key: string, value: HtmlValue) => checkedName(`${where}: ${key}`, valueOf(row, value));
  const eventKey = required('id', rows.id);
  const home = rows.home && required('home', rows.home);
  const away = rows.away && required('away', rows.away);
  const eventName = rows.name ? required('name', rows.name) : checkedName(`${where}: home v away`, `${home} v ${away}`);
  const startsAt = rows.startsAt && isoInstant(valueOf(row, rows.startsAt));
  const event = {
    eventKey,
    eventName,
    ...(home === undefined ? {} : { home }),
    ...(away === undefined ? {} : { away }),
    ...(startsAt === undefined ? {} : { startsAt }),
    bookmaker,
  };
  for (const market of rows.markets) {
    for (const { selection, scope, price } of selectionsOf($, row, market, where)) {
      const unpriced: UnpricedSelection = { ...event, market: market.name, selection };
      collectSelection(batch, observer, unpriced, priceText(valueOf(scope, price)));
    }
  }
}

function selectionsOf($: CheerioAPI, row: Cheerio<AnyNode>, market: HtmlMarket, where: string): { selection: string; scope: Cheerio<AnyNode>; price: HtmlValue }[] {
  if ('selections' in market) return market.selections.map((selection) => ({ selection: selection.name, scope: row, price: selection.price }));
  return row
    .find(market.each)
    .toArray()
    .map((element, index) => {
      const scope = $(element);
      return { selection: checkedName(`${where}: market ${market.name}, selection ${index + 1}`, valueOf(scope, market.selection)), scope, price: market.price };
    });
}

/** The value within `scope`: undefined when its element (or attribute) is not there. */
function valueOf(scope: Cheerio<AnyNode>, value: HtmlValue): string | undefined {
  const selector = typeof value === 'string' ? value : value.selector;
  const target = selector === '' ? scope.first() : scope.find(selector).first();
  const element = target[0];
  if (element === undefined) return undefined;
  const raw = typeof value === 'object' && value.attribute !== undefined ? target.attr(value.attribute) : textOf(element);
  return raw?.replace(/\s+/g, ' ').trim();
}

/** An id or a name as the columns store it (storedName), else the step fails as `parse`, naming where and what (never the value). */
function checkedName(where: string, value: string | undefined): string {
  if (value === undefined) throw new PlatformError('parse', `${where} is missing`);
  const parsed = storedName.safeParse(value);
  if (!parsed.success) throw new PlatformError('parse', `${where} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

/** Price text as prices.ts reads it; typography's minus sign (U+2212, `&minus;`) is the hyphen of `-250`. */
function priceText(value: string | undefined): string | undefined {
  return value?.replaceAll('\u2212', '-');
}

const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:(Z)|([+-]\d{2}):?(\d{2}))$/i;

/** An ISO 8601 date and time with its offset (a `<time datetime>`), as UTC ISO; undefined for anything else (a local time names no instant). */
function isoInstant(value: string | undefined): string | undefined {
  const match = value === undefined ? null : ISO_INSTANT.exec(value);
  if (!match) return undefined;
  const [, date = '', hour = '', minute = '', second = '00', fraction = '', zulu, offsetHours, offsetMinutes] = match;
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  // Date.parse rolls 30 February over into March: a day the month does not have is no date.
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const time = Date.parse(`${date}T${hour}:${minute}:${second}${fraction}${zulu ? 'Z' : `${offsetHours}:${offsetMinutes}`}`);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** Elements whose content is not text on the page (script and style are node types of their own). */
const HIDDEN = new Set(['template', 'noscript']);
/** Elements that separate words the way a browser lays them out (`Arsenal<br>FC`, `<div>Arsenal</div><div>FC</div>`). */
const SEPARATING = new Set(['br', 'p', 'div', 'li', 'td', 'th', 'tr', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

/** The text within `node` without script, style or template text; iterative, as a hostile page may nest deep. */
function textOf(node: AnyNode): string {
  const parts: string[] = [];
  const stack: (AnyNode | ' ')[] = [node];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (current === ' ') {
      parts.push(' ');
    } else if (current.type === 'text') {
      parts.push(current.data);
    } else if (current.type === 'root' || current.type === 'cdata' || (current.type === 'tag' && !HIDDEN.has(current.name))) {
      if (current.type === 'tag' && SEPARATING.has(current.name)) {
        parts.push(' ');
        stack.push(' ');
      }
      for (let index = current.children.length - 1; index >= 0; index -= 1) stack.push(current.children[index]!);
    }
  }
  return parts.join('');
}
