import type { PlatformAdapter } from './adapter.js';
import { createBrowserAdapter } from './browser/browserAdapter.js';
import type { BrowserPool } from './browser/browserPool.js';
import { createFeedAdapter } from './feed/feedAdapter.js';
import { createHtmlAdapter } from './html/htmlAdapter.js';
import { createJsonAdapter } from './json/jsonAdapter.js';
import { createOddsApiAdapter } from './oddsApi/oddsApiAdapter.js';
import type { PlatformEntry } from './platformsFile.js';

/** The adapter of an entry's kind; `browser` platforms share the replica's browser pool. */
export function createAdapter(entry: PlatformEntry, browsers?: BrowserPool): PlatformAdapter {
  switch (entry.kind) {
    case 'feed':
      return createFeedAdapter(entry);
    case 'odds-api':
      return createOddsApiAdapter(entry);
    case 'json':
      return createJsonAdapter(entry);
    case 'html':
      return createHtmlAdapter(entry);
    case 'browser':
      if (!browsers) throw new Error(`platform ${entry.name}: a browser platform needs the browser pool`);
      return createBrowserAdapter(entry, browsers);
  }
}
