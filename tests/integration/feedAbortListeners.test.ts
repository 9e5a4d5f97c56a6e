import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IGNORE_OBSERVATIONS } from '../../src/platforms/adapter.js';
import { createFeedAdapter } from '../../src/platforms/feed/feedAdapter.js';

/**
 * A feed of thousands of pages must not pile abort listeners on the step's signal: fetch keeps its
 * listener on the signal it is given until the request is garbage-collected (a 10,000-page feed once
 * logged 4,265 MaxListenersExceededWarning lines in one run).
 */
const PAGES = 2_000;
let server: http.Server;
let baseUrl: string;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const page = Number(new URL(request.url ?? '/', 'http://feed.invalid').searchParams.get('page'));
    const events = [{ id: `e${page}`, name: `Home ${page} v Away`, markets: [{ name: 'result', selections: [{ name: 'home', price: 2 }] }] }];
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ page, totalPages: PAGES, events }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`;
});
afterAll(() => new Promise((resolve) => server?.close(resolve)));

describe('abort listeners of a long feed', () => {
  it.each([
    ['without pacing', undefined],
    ['with request pacing', 1],
  ])(`stay bounded over ${PAGES} pages, %s`, async (_label, minRequestIntervalMs) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const adapter = createFeedAdapter({ kind: 'feed', name: 'longfeed', baseUrl, timeoutMs: 60_000, headers: {}, ...(minRequestIntervalMs ? { minRequestIntervalMs } : {}) });
      const controller = new AbortController();
      let most = 0;
      const found = await adapter.scrape(controller.signal, async () => {
        most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
      }, IGNORE_OBSERVATIONS);
      expect(found).toBe(PAGES);
      expect(most).toBeLessThanOrEqual(1); // the current page's own link, nothing left from earlier pages
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      expect(warnings.filter((name) => name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
