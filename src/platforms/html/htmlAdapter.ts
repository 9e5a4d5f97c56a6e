import { loadBuffer, type CheerioAPI } from 'cheerio';
import { PlatformError, type PlatformAdapter, type ScrapedSelection } from '../adapter.js';
import { DEFAULT_MAX_PAGES } from '../entry.js';
import { isChallengePage } from '../failureReason.js';
import { createPlatformHttp, type PlatformResponse } from '../platformHttp.js';
import type { PlatformEntry } from '../platformsFile.js';
import { redactUrl } from '../redact.js';
import { readRow } from './rowReader.js';

/**
 * The `html` kind (docs/kinds/html.md): server-rendered pages parsed with cheerio (parse5; no script runs),
 * one row per sporting event found by `rows.event`, every value read within its row by CSS selector.
 * A row without its id or name fails the step as `parse` (a selector that stopped matching is a changed
 * layout, not a row to skip); a bad price is dropped and counted, like every kind's.
 */

type HtmlPlatform = Extract<PlatformEntry, { kind: 'html' }>;

const ACCEPT = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8';

export function createHtmlAdapter(entry: HtmlPlatform): PlatformAdapter {
  const start = new URL(entry.url);
  const http = createPlatformHttp(entry, [...start.searchParams.values()]);
  const pagination = entry.pagination;
  return {
    name: entry.name,
    kind: 'html',
    baseUrl: redactUrl(entry.url),
    timeoutMs: entry.timeoutMs,
    async scrape(signal, onProgress, observer, maxPages = Number.POSITIVE_INFINITY) {
      const limit = Math.min(maxPages, pagination ? (pagination.maxPages ?? DEFAULT_MAX_PAGES) : 1);
      const visited = new Set<string>();
      let eventsFound = 0;
      let url: string | undefined = pageUrl(entry, 1);
      for (let page = 1; url !== undefined && page <= limit; page += 1) {
        visited.add(url);
        const $ = parsePage(await http.request({ url, accept: ACCEPT, page }, signal, observer));
        const rows = $(entry.rows.event);
        if (rows.length === 0) {
          if (isChallengePage($.html())) throw new PlatformError('blocked', `page ${page} is a challenge page`);
          // A paged listing ends at its first page without rows; only the first page must have some.
          if (page > 1 || (entry.rows.none !== undefined && $(entry.rows.none).length > 0)) break;
          throw new PlatformError('parse', `page ${page}: no rows match rows.event (the page's layout may have changed)`);
        }
        const batch: ScrapedSelection[] = [];
        rows.each((index, row) => readRow(entry.rows, entry.name, $, $(row), `page ${page}, row ${index + 1}`, batch, observer));
        eventsFound += rows.length;
        await onProgress({ eventsFound, batch });
        url = pagination && 'param' in pagination ? pageUrl(entry, page + 1) : nextLink(entry, $, url, visited);
      }
      return eventsFound;
    },
  };
}

/** Page `page`'s URL: `url` itself, or with the page parameter set (keeping the rest of its query). */
function pageUrl(entry: HtmlPlatform, page: number): string {
  if (!entry.pagination || !('param' in entry.pagination)) return entry.url;
  const url = new URL(entry.url);
  url.searchParams.set(entry.pagination.param, String(entry.pagination.start + page - 1));
  return url.toString();
}

/**
 * The next page's URL from the `href` of the first element `nextLink` finds, resolved against this page's;
 * none when there is no such link, or it leaves the origin of `url`, is no http(s) URL, or was read already.
 * The configured URL's userinfo (a Basic credential) goes with it: a link never carries its own.
 */
function nextLink(entry: HtmlPlatform, $: CheerioAPI, current: string, visited: ReadonlySet<string>): string | undefined {
  if (!entry.pagination || !('nextLink' in entry.pagination)) return undefined;
  const href = $(entry.pagination.nextLink).first().attr('href')?.trim();
  if (!href) return undefined;
  let next: URL;
  try {
    next = new URL(href, current);
  } catch {
    return undefined;
  }
  const start = new URL(entry.url);
  if ((next.protocol !== 'http:' && next.protocol !== 'https:') || next.origin !== start.origin) return undefined;
  next.username = start.username;
  next.password = start.password;
  next.hash = '';
  const url = next.toString();
  return visited.has(url) ? undefined : url;
}

/**
 * The page decoded as the browser would: a byte order mark, else the Content-Type's charset, else a
 * `<meta charset>` (or http-equiv) in its first 1024 bytes, else UTF-8. `<template>` contents are dropped:
 * they are not on the page until a script puts them there.
 */
function parsePage(response: PlatformResponse): CheerioAPI {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(response.headers.get('content-type') ?? '')?.[1];
  const $ = loadBuffer(response.bytes, { encoding: { defaultEncoding: 'utf-8', ...(charset ? { transportLayerEncodingLabel: charset } : {}) } });
  $('template').remove();
  return $;
}
