import http from 'node:http';
import type { ScrapedSelection } from '../../src/platforms/adapter.js';
import { parsePrice } from '../../src/platforms/prices.js';
import { canonicalOdds } from '../../src/odds/sportingEventMatcher.js';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { recordFault } from './report.js';

/**
 * Feeds whose values are generated to be as hostile as a JSON body can carry: control characters, NUL,
 * lone UTF-16 halves, names of thousands of characters, prices at every rounding edge of numeric(12,4),
 * beside plain ones. Each platform's step must either store exactly what it read (prices rounded as
 * stored, a price that is none dropped) or fail as a malformed page; the run never ends as a lost database. HOSTILE_SEED=<n> replays.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);
const FEEDS = 24;

const hostileName = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 30 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), weight: 2 }, // lone surrogates included
  { arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 5 }), weight: 1 },
  { arbitrary: fc.constantFrom('\u0000', 'Home\u0000Away', '', ' ', '\ud800', 'a\udc00b', '\u007f', '__proto__', 'constructor'), weight: 1 },
  { arbitrary: fc.integer({ min: 190, max: 5_000 }).map((length) => 'é'.repeat(length)), weight: 1 },
);
const hostilePrice = fc.oneof(
  { arbitrary: fc.double({ min: 1.001, max: 50, noNaN: true }), weight: 4 },
  { arbitrary: fc.double({ noNaN: false }), weight: 1 },
  {
    arbitrary: fc.constantFrom(1, 1.0000000000001, 1.0004999, 1.0005, 1.0006, 9_999.9994, 9_999.9996, 10_000, 1e7, 1e12, -2, 0, Number.MIN_VALUE, 2.0005, 1.9995),
    weight: 2,
  },
);
const selection = fc.record({ name: hostileName, price: hostilePrice });
const sportingEvent = fc.record({
  id: hostileName,
  name: hostileName,
  markets: fc.array(fc.record({ name: hostileName, selections: fc.array(selection, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }),
});
type SportingEvent = { id: string; name: string; markets: { name: string; selections: { name: string; price: number }[] }[] };
const feeds: SportingEvent[][] = fc.sample(fc.array(sportingEvent, { minLength: 1, maxLength: 4 }), { numRuns: FEEDS, seed: SEED });

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-hostile-values-'));
let feedServer: http.Server;
let server: TestServer;

beforeAll(async () => {
  feedServer = http.createServer((request, response) => {
    const index = Number(new URL(request.url ?? '/', 'http://feed.invalid').pathname.split('/')[1]);
    const events = feeds[index] ?? [];
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ page: 1, totalPages: 1, events }));
  });
  await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}`;
  const platforms = [{ name: 'plain', baseUrl: `${base}/plain` }, ...feeds.map((_, index) => ({ name: `hostile-${index}`, baseUrl: `${base}/${index}` }))];
  writeFileSync(path.join(dir, 'platforms.json'), JSON.stringify(platforms));
  server = await startTestServer({ PLATFORMS_FILE: path.join(dir, 'platforms.json') });
});
afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => feedServer?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe(`generated hostile values (HOSTILE_SEED=${SEED})`, () => {
  it('are stored exactly as read or fail their own platform as malformed; never a lost database', async () => {
    const replay = `replay: HOSTILE_SEED=${SEED} npx vitest run --project faults tests/faults/hostileValues.test.ts`;
    const created = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
    const run = await server.waitForRun(created.id, ['completed', 'partial', 'failed'], 30_000);
    expect(run.failureReason, replay).toBeNull();
    expect(['completed', 'partial'], replay).toContain(run.status);
    expect(server.logs.some((line) => /lost the database/.test(line.msg)), replay).toBe(false);

    let completed = 0;
    for (const [index, events] of feeds.entries()) {
      const step = run.steps.find((candidate) => candidate.platform === `hostile-${index}`)!;
      if (step.status === 'failed') {
        expect(step.error, `${replay}: hostile-${index}`).toMatch(/^page 1 is malformed: /);
        continue;
      }
      completed += 1;
      expect(step.status, replay).toBe('completed');
      // Stored as read: prices that are no price dropped, names canonical (markets and selections), the last
      // listing of a (sporting event, market, selection) wins, prices rounded as numeric(12,4).
      const read: ScrapedSelection[] = [];
      for (const event of events) {
        for (const market of event.markets) {
          for (const choice of market.selections) {
            const parsed = parsePrice(choice.price);
            if ('price' in parsed) read.push({ eventKey: event.id, eventName: event.name, market: market.name, selection: choice.name, bookmaker: `hostile-${index}`, price: parsed.price, priceText: parsed.text });
          }
        }
      }
      const expected = new Map(canonicalOdds(read).map((row) => [JSON.stringify([row.eventKey, row.market, row.selection]), { name: row.eventName, price: row.price.toFixed(4) }]));
      const rows = await server.db.query<{ event_key: string; event_name: string; market: string; selection: string; price: string }>(
        'select event_key, event_name, market, selection, price::text from odds where platform = $1',
        [`hostile-${index}`],
      );
      expect(rows.length, replay).toBe(expected.size);
      for (const row of rows) {
        const want = expected.get(JSON.stringify([row.event_key, row.market, row.selection]));
        expect(want, replay).toBeDefined();
        expect(Number(row.price), replay).toBe(Number(want!.price));
      }
    }
    recordFault({
      name: `generated hostile feed values (${FEEDS} feeds, seed ${SEED})`,
      endState: `run ${run.status}; every step stored its values exactly or failed as malformed`,
      figure: { feeds: FEEDS, completed, failed_malformed: FEEDS - completed },
    });
  });
});
