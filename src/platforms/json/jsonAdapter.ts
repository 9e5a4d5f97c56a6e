import { PlatformError, type PlatformAdapter } from '../adapter.js';
import { DEFAULT_MAX_PAGES } from '../entry.js';
import { createPlatformHttp, parseJsonBody } from '../platformHttp.js';
import type { PlatformEntry } from '../platformsFile.js';
import { redactUrl } from '../redact.js';
import { compileExpression } from './expressions.js';
import { collectItems } from './selectedItems.js';

type JsonPlatformEntry = Extract<PlatformEntry, { kind: 'json' }>;

/** A cursor longer than this is no cursor (it goes into the next request's query string). */
const MAX_CURSOR_LENGTH = 2_048;

/** One response as the pagination reads it. */
interface ReadPage {
  /** The request's URL (a relative next URL is resolved against it). */
  url: string;
  data: unknown;
  /** What `select` yielded, before validation. */
  items: unknown[];
}

/**
 * The `json` kind: a bookmaker's own JSON API, mapped by JSONata (docs/kinds/json.md). `select` turns one
 * response into items `{ eventId, eventName, home?, away?, startsAt?, market, selection, price }`; the
 * pagination is read by `pagination.total` or `pagination.next`. Every expression is compiled here, once:
 * a syntax error is a PlatformEntryError (start-up, or the preview's refusal).
 */
export function createJsonAdapter(entry: JsonPlatformEntry): PlatformAdapter {
  const compile = (key: string, text: string) => compileExpression(entry.name, key, text, entry.timeoutMs);
  const select = compile('select', entry.select);
  const pagination = entry.pagination;
  const total = pagination?.style === 'page' && pagination.total !== undefined ? compile('pagination.total', pagination.total) : undefined;
  const next = pagination?.style === 'cursor' ? compile('pagination.next', pagination.next) : undefined;
  const pageLimit = pagination ? (pagination.maxPages ?? DEFAULT_MAX_PAGES) : 1;
  const origin = new URL(entry.url).origin;
  const http = createPlatformHttp(entry, [...new URL(entry.url).searchParams.values()]);
  const body = entry.body === undefined ? undefined : typeof entry.body === 'string' ? entry.body : JSON.stringify(entry.body);
  const ownContentType = Object.keys(entry.headers).some((name) => name.toLowerCase() === 'content-type');
  const contentType = body === undefined || ownContentType ? undefined : typeof entry.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';

  /** The entry's URL with query parameters set (a page number, an offset, a cursor). */
  const withParams = (params: Record<string, string>) => {
    const url = new URL(entry.url);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.toString();
  };

  function firstUrl(): string {
    switch (pagination?.style) {
      case 'page':
        return withParams({ [pagination.param]: String(pagination.start) });
      case 'offset':
        return withParams({ [pagination.param]: '0', ...(pagination.limitParam ? { [pagination.limitParam]: String(pagination.limit) } : {}) });
      default:
        return new URL(entry.url).toString();
    }
  }

  /** The URL of the page after `page` (its number, from 1), or undefined when it was the last. */
  async function followingUrl(read: ReadPage, page: number): Promise<string | undefined> {
    switch (pagination?.style) {
      case undefined:
        return undefined;
      case 'page': {
        if (read.items.length === 0) return undefined;
        if (total) {
          const pages = await total.evaluate(read.data, page);
          if (typeof pages !== 'number' || !Number.isInteger(pages) || pages < 0) {
            throw new PlatformError('parse', `page ${page}: pagination.total yields no number of pages (an integer, 0 or more)`);
          }
          if (page >= pages) return undefined;
        }
        return withParams({ [pagination.param]: String(pagination.start + page) });
      }
      case 'offset':
        // Short: fewer items than the page holds records, as long as each record yields one item or more.
        if (read.items.length < pagination.limit) return undefined;
        return withParams({ [pagination.param]: String(page * pagination.limit), ...(pagination.limitParam ? { [pagination.limitParam]: String(pagination.limit) } : {}) });
      case 'cursor':
        return cursorUrl(pagination.param, await next?.evaluate(read.data, page), read.url, page);
    }
  }

  /** `pagination.next`'s value as the next URL: a cursor sent as `param`, or (without `param`) the URL itself, on the entry's origin only. */
  function cursorUrl(param: string | undefined, value: unknown, current: string, page: number): string | undefined {
    if (value === undefined || value === null || value === '' || value === false) return undefined;
    if (param !== undefined) {
      const cursor = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) {
        throw new PlatformError('parse', `page ${page}: pagination.next yields no cursor (text of at most ${MAX_CURSOR_LENGTH} characters, or a number)`);
      }
      return withParams({ [param]: cursor });
    }
    let url: URL;
    try {
      if (typeof value !== 'string' || value.length > 8_192) throw new TypeError('no URL');
      url = new URL(value, current);
    } catch {
      throw new PlatformError('parse', `page ${page}: pagination.next yields no URL`);
    }
    if (url.origin !== origin) throw new PlatformError('parse', `page ${page}: pagination.next yields a URL on another origin than url's (refused)`);
    // Same origin: the entry's userinfo (sent as Basic authorization) goes on, whatever the platform wrote there.
    const own = new URL(entry.url);
    url.username = own.username;
    url.password = own.password;
    return url.toString();
  }

  return {
    name: entry.name,
    kind: 'json',
    baseUrl: redactUrl(entry.url),
    timeoutMs: entry.timeoutMs,
    async scrape(signal, onProgress, observer, maxPages = Number.POSITIVE_INFINITY) {
      const lastPage = Math.min(pageLimit, maxPages);
      const requested = new Set<string>();
      let eventsFound = 0;
      let url: string | undefined = firstUrl();
      for (let page = 1; url !== undefined; page += 1) {
        requested.add(url);
        const response = await http.request(
          { url, method: entry.method, ...(body === undefined ? {} : { body }), ...(contentType ? { contentType } : {}), accept: 'application/json', page },
          signal,
          observer,
        );
        const empty = response.text.trim() === '';
        const data = empty ? undefined : parseJsonBody(response.text, page);
        const items = selectedItems(await select.evaluate(data, page), page);
        if (items.length === 0 && page === 1 && !empty && !isEmptyJson(data)) {
          throw new PlatformError('parse', 'page 1: select yields nothing from a non-empty response');
        }
        const { batch, events } = collectItems(items, page, entry.name, observer);
        eventsFound += events;
        const following: string | undefined = page < lastPage ? await followingUrl({ url, data, items }, page) : undefined;
        signal.throwIfAborted(); // an evaluation does not see the signal
        await onProgress({ eventsFound, batch });
        // A next URL already read loops back: everything after it was read too.
        url = following !== undefined && !requested.has(following) ? following : undefined;
        if (url !== undefined) signal.throwIfAborted();
      }
      return eventsFound;
    },
  };
}

/** What `select` yielded as a list: JSONata gives a single match as itself, and no match as undefined. */
function selectedItems(value: unknown, page: number): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'object') return [value];
  throw new PlatformError('parse', `page ${page}: select yields a ${typeof value}, not items`);
}

/** `[]` or `{}`: a platform saying it has nothing, where `select` rightly yields nothing. */
function isEmptyJson(data: unknown): boolean {
  if (Array.isArray(data)) return data.length === 0;
  return typeof data === 'object' && data !== null && Object.keys(data).length === 0;
}
