import pg from 'pg';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgExecutor } from '../../src/db/sqlExecutor.js';
import { createPlatformRoutes, PREVIEW_TURN_WAIT_MS } from '../../src/http/routes/platforms.js';
import { parseSimFeeds, SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import { OwnerLiveness } from '../../src/replicas/ownerLiveness.js';
import { PlatformLocks } from '../../src/runs/platformLocks.js';
import type { ApiErrorBody, PlatformPreview } from '../../src/shared/contract.js';
import { capturingLogger } from '../helpers/replicas.js';
import { teardownTolerantPool } from '../helpers/testDatabase.js';
import { FAST_FEEDS, startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * POST /api/platforms/preview through the real service: the simulator's platforms (started here and named
 * in PLATFORMS_FILE, so the test does not depend on every kind being built), a tiny loopback platform that
 * counts what it is sent, and the metadata address.
 */
const TOKEN = 'operator-token-for-preview-0123456789';
const SECRET = 'preview-s3cr3t-5be0c1';
const FAST = parseSimFeeds(FAST_FEEDS)['*']!; // 2 pages of 5 sporting events, 5 selections each
const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-preview-'));

let sim: SimulatedFeeds;
let server: TestServer;
/** A platform of our own: answers one page after PAGE_DELAY_MS, counting requests in flight and what they carried. */
let own: http.Server;
let ownUrl: string;
const PAGE_DELAY_MS = 150;
const STATEMENT_TIMEOUT_MS = 1_000;
let inFlight = 0;
let mostInFlight = 0;
const authorizations: (string | undefined)[] = [];

const page = JSON.stringify({
  page: 1,
  totalPages: 1,
  events: [{ id: 'own-1', name: 'Arsenal v Benfica', markets: [{ name: 'result', selections: [{ name: 'home', price: '7/5' }, { name: 'draw', price: 'n/a' }, { name: 'away', price: 1 }] }] }],
});

beforeAll(async () => {
  process.env.ODDSWATCH_PREVIEW_TEST_TOKEN = SECRET;
  sim = new SimulatedFeeds(parseSimFeeds(FAST_FEEDS));
  await sim.start();
  own = http.createServer((request, response) => {
    authorizations.push(request.headers.authorization);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    const delay = Number(new URL(request.url ?? '/', 'http://own.invalid').searchParams.get('delay') ?? PAGE_DELAY_MS);
    setTimeout(() => {
      inFlight -= 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(page);
    }, delay);
  });
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  ownUrl = `http://127.0.0.1:${(own.address() as AddressInfo).port}/own`;
  const file = path.join(dir, 'platforms.json');
  writeFileSync(file, JSON.stringify([sim.entryOf('northwind'), sim.entryOf('redfox')]));
  // A request's database deadline of 2 s (statement timeout + 1 s): the preview must outlast it.
  server = await startTestServer({ OPERATOR_TOKEN: TOKEN, PLATFORMS_FILE: file, DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) });
});
afterAll(async () => {
  await server?.close();
  await sim?.stop();
  await new Promise((resolve) => own?.close(resolve));
  delete process.env.ODDSWATCH_PREVIEW_TEST_TOKEN;
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  sim.set('northwind', { failureRate: 0, hang: false });
});

const preview = (entry: unknown, token: string | null = TOKEN) =>
  server.api('/api/platforms/preview', { method: 'POST', json: entry, headers: token ? { authorization: `Bearer ${token}` } : {} });

/** Rows of every table a run writes. */
async function storedRows(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['runs', 'platform_steps', 'run_events', 'odds', 'event_listings', 'sporting_events', 'participant_aliases']) {
    counts[table] = (await server.db.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]!.n;
  }
  return counts;
}

describe('POST /api/platforms/preview', () => {
  it('scrapes the first page of a feed entry and lists its selections, storing nothing', async () => {
    const before = await storedRows();
    const requests = sim.requests('northwind');
    const response = await preview(sim.entryOf('northwind'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as PlatformPreview;
    expect(body).toMatchObject({ ok: true, kind: 'feed', reason: null, error: null, eventsFound: FAST.eventsPerPage, selectionsFound: FAST.eventsPerPage! * 5 });
    // Nothing scraped yet: none of its sporting events matches a stored one.
    expect(body).toMatchObject({ bookmakers: ['northwind'], rejectedPrices: {}, quota: null, matchedExisting: 0 });
    expect(body.selections).toHaveLength(body.selectionsFound);
    expect(body.selections[0]).toEqual({
      eventKey: 'ev-0',
      eventName: expect.stringMatching(/^\w+ v \w+$/),
      home: null,
      away: null,
      startsAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      market: 'match_result',
      selection: 'home',
      price: expect.any(Number),
      priceText: expect.any(String),
      bookmaker: 'northwind',
    });
    expect(sim.requests('northwind') - requests).toBe(1); // one page of the two
    expect(await storedRows()).toEqual(before);
  });

  it('counts the sporting events of the page that match stored ones, once a run has stored them', async () => {
    const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] }, headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { id: number };
    await server.waitForRun(created.id, ['completed']);
    // northwind's first page lists the same sporting events as redfox (same teams, same start times).
    const body = (await (await preview(sim.entryOf('northwind'))).json()) as PlatformPreview;
    expect(body).toMatchObject({ ok: true, eventsFound: FAST.eventsPerPage, matchedExisting: FAST.eventsPerPage });
  });

  it('counts the prices it drops, keeps the price text, and sends the secrets from the environment to the platform only', async () => {
    const response = await preview({ name: 'own', baseUrl: ownUrl, headers: { Authorization: { env: 'ODDSWATCH_PREVIEW_TEST_TOKEN' } } });
    const text = await response.text();
    expect(text).not.toContain(SECRET);
    const body = JSON.parse(text) as PlatformPreview;
    expect(body).toMatchObject({ ok: true, eventsFound: 1, selectionsFound: 1, rejectedPrices: { malformed: 1, not_above_one: 1 } });
    expect(body.selections.map(({ selection, price, priceText }) => ({ selection, price, priceText }))).toEqual([{ selection: 'home', price: 2.4, priceText: '7/5' }]);
    expect(authorizations.at(-1)).toBe(SECRET);
  });

  it('needs the operator token (401), and reaches no platform without it', async () => {
    const requests = sim.requests('northwind');
    const response = await preview(sim.entryOf('northwind'), null);
    expect(response.status).toBe(401);
    expect(((await response.json()) as ApiErrorBody).error.code).toBe('unauthorized');
    expect((await preview(sim.entryOf('northwind'), 'not-the-operator-token-at-all')).status).toBe(401);
    expect(sim.requests('northwind')).toBe(requests);
  });

  it('refuses an invalid entry with 400 naming where and what, never a value', async () => {
    const unknownKey = await preview({ ...sim.entryOf('northwind'), fooo: 1 });
    expect(unknownKey.status).toBe(400);
    expect(((await unknownKey.json()) as ApiErrorBody).error).toEqual({ code: 'invalid_request', message: 'platform northwind: unknown key "fooo"' });

    const badUrl = await preview({ name: 'leaky', baseUrl: `not a url ${SECRET}` });
    expect(badUrl.status).toBe(400);
    const badUrlText = await badUrl.text();
    expect(badUrlText).toContain('platform leaky: baseUrl');
    expect(badUrlText).not.toContain(SECRET);

    const unset = await preview({ name: 'unset', baseUrl: ownUrl, headers: { 'x-api-key': { env: 'ODDSWATCH_PREVIEW_NOT_SET' } } });
    expect(((await unset.json()) as ApiErrorBody).error.message).toBe('platform unset: headers.x-api-key: environment variable ODDSWATCH_PREVIEW_NOT_SET is not set');

    expect((await preview(['not', 'an', 'entry'])).status).toBe(400);
  });

  it('answers a failing platform with ok: false and its reason', async () => {
    sim.set('northwind', { failureRate: 1 });
    const body = (await (await preview(sim.entryOf('northwind'))).json()) as PlatformPreview;
    expect(body).toMatchObject({ ok: false, kind: 'feed', reason: 'http_5xx', error: 'platform answered HTTP 503 on page 1', eventsFound: 0, selectionsFound: 0, selections: [] });
  });

  it("gives up at the entry's timeout as timeout", async () => {
    sim.set('northwind', { hang: true });
    const started = performance.now();
    const body = (await (await preview({ ...sim.entryOf('northwind'), timeoutMs: 300 })).json()) as PlatformPreview;
    expect(body).toMatchObject({ ok: false, reason: 'timeout', error: 'timed out after 300 ms' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses a platform at the metadata address as forbidden_address', async () => {
    const body = (await (await preview({ name: 'metadata', baseUrl: 'http://169.254.169.254:65000/latest' })).json()) as PlatformPreview;
    expect(body).toMatchObject({ ok: false, reason: 'forbidden_address', error: "the platform's host resolves to a forbidden address (169.254.169.254)" });
  });

  it("outlasts the API's request database deadline: a platform that takes longer is no database outage", async () => {
    const response = await preview({ name: 'own', baseUrl: `${ownUrl}?delay=${STATEMENT_TIMEOUT_MS + 1_500}`, timeoutMs: 10_000 });
    expect(response.status).toBe(200);
    expect(((await response.json()) as PlatformPreview).ok).toBe(true);
  });

  it('runs one preview at a time on a replica; the others wait their turn and all answer', async () => {
    mostInFlight = 0;
    const answers = await Promise.all([1, 2, 3].map(() => preview({ name: 'own', baseUrl: ownUrl })));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    for (const answer of answers) expect(((await answer.json()) as PlatformPreview).ok).toBe(true);
    expect(mostInFlight).toBe(1);
  });

  it('counts the sporting events of its first page that match one stored already', async () => {
    // redfox's run stores the sporting events; northwind lists the same ones under its own keys.
    const created = await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] }, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(created.status).toBe(202);
    await server.waitForRun(((await created.json()) as { id: number }).id, ['completed']);
    const before = await storedRows();
    const known = (await (await preview(sim.entryOf('northwind'))).json()) as PlatformPreview;
    expect(known).toMatchObject({ ok: true, eventsFound: FAST.eventsPerPage, matchedExisting: FAST.eventsPerPage });
    // Without a start time nothing can be matched.
    const own = (await (await preview({ name: 'own', baseUrl: ownUrl })).json()) as PlatformPreview;
    expect(own).toMatchObject({ ok: true, eventsFound: 1, matchedExisting: 0 });
    expect(await storedRows()).toEqual(before);
  });

  describe("a configured platform another replica is scraping (one scrape per platform at a time)", () => {
    let liveness: OwnerLiveness;
    let pool: pg.Pool;
    let other: PlatformLocks;
    beforeAll(async () => {
      liveness = await OwnerLiveness.hold(server.db.url, 'preview-other-replica');
      pool = teardownTolerantPool(server.db.url, 2);
      other = new PlatformLocks({ execute: pgExecutor(pool), ownerId: 'preview-other-replica', liveness, spacingOf: () => 0, logger: capturingLogger('silent').logger });
    });
    afterAll(async () => {
      await other?.close();
      await pool?.end();
      await liveness?.release();
    });
    const holderOf = async (platform: string) => (await server.db.query<{ holder: string | null }>('select holder from platform_locks where platform = $1', [platform]))[0]?.holder ?? null;

    it('waits for its turn: the preview reaches the platform only once that scrape ended, then frees the platform', async () => {
      const release = await other.take('northwind');
      const requests = sim.requests('northwind');
      const started = performance.now();
      const answering = preview(sim.entryOf('northwind'));
      // The other replica's scrape lasts 400 ms: nothing of the preview reaches the platform meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(sim.requests('northwind') - requests).toBe(0);
      await release();
      const response = await answering;
      expect(response.status).toBe(200);
      expect(((await response.json()) as PlatformPreview).ok).toBe(true);
      expect(performance.now() - started).toBeGreaterThanOrEqual(400);
      expect(sim.requests('northwind') - requests).toBe(1);
      expect(await holderOf('northwind')).toBeNull();
    });

    it(`answers 409 platform_busy after ${PREVIEW_TURN_WAIT_MS} ms when that scrape goes on, never reaching the platform; an entry of another name is not held up`, async () => {
      const release = await other.take('northwind');
      try {
        const requests = sim.requests('northwind');
        const started = performance.now();
        const busy = await preview(sim.entryOf('northwind'));
        const waitedMs = performance.now() - started;
        expect(busy.status).toBe(409);
        expect(((await busy.json()) as ApiErrorBody).error).toMatchObject({ code: 'platform_busy', message: expect.stringContaining('northwind is being scraped') });
        expect(waitedMs).toBeGreaterThanOrEqual(PREVIEW_TURN_WAIT_MS - 50);
        expect(sim.requests('northwind') - requests).toBe(0);
        expect(await holderOf('northwind')).toBe('preview-other-replica');
        // An entry being written (a name no platform has yet) takes no platform's turn.
        const fresh = await preview({ ...sim.entryOf('northwind'), name: 'northwind-draft' });
        expect(fresh.status).toBe(200);
      } finally {
        await release();
      }
    }, 20_000);
  });

  it('lists every platform with its kind and quota on GET /api/platforms', async () => {
    const { items } = (await (await server.api('/api/platforms')).json()) as { items: { name: string; kind: string; quotaRemaining: number | null }[] };
    expect(items.map(({ name, kind, quotaRemaining }) => ({ name, kind, quotaRemaining }))).toEqual([
      { name: 'northwind', kind: 'feed', quotaRemaining: null },
      { name: 'redfox', kind: 'feed', quotaRemaining: null },
    ]);
  });
});

describe('the preview route with matching', () => {
  it('answers matchedExisting from the injected count, given every selection found', async () => {
    const given: number[] = [];
    const routes = createPlatformRoutes({
      platforms: { adapters: new Map() },
      lastSteps: async () => [],
      quotaRemaining: () => null,
      preview: {
        defaultTimeoutMs: 5_000,
        env: {},
        countMatchedExisting: async (selections) => {
          given.push(selections.length);
          return 7;
        },
      },
    });
    const app = new Hono().route('/api/platforms', routes);
    const response = await app.request('/api/platforms/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sim.entryOf('redfox')) });
    const body = (await response.json()) as PlatformPreview;
    expect(body).toMatchObject({ ok: true, matchedExisting: 7, selectionsFound: FAST.eventsPerPage! * 5 });
    expect(given).toEqual([body.selectionsFound]);
  });
});
