import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OddsPage, ParticipantAliasInfo, RunDetail, SportingEventOdds } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * Two bookmakers' own JSON APIs (PLATFORMS_FILE `json` entries, served by a loopback server here) that
 * spell, time and name the same sporting events differently. GET /api/odds must show each as one
 * sporting event with both bookmakers' prices compared per canonical selection; what normalisation cannot
 * join stays apart until an operator's alias joins it, without a new scrape.
 */
const TOKEN = 'operator-token-for-matching-tests';
const HOUR = 3_600_000;
/** A start well in the future, on the hour, so nothing here is in the past while the test runs. */
const T = Math.ceil(Date.now() / HOUR) * HOUR + 48 * HOUR;
const at = (ms: number) => new Date(ms).toISOString();

interface Item {
  eventId: string;
  eventName: string;
  home?: string;
  away?: string;
  startsAt: string;
  market: string;
  selection: string;
  price: number | string;
}

/** One sporting event's prices as a platform writes them: `prices` are [selection, price] pairs of one market. */
function listing(eventId: string, eventName: string, startsAt: number, market: string, prices: [string, number | string][], sides?: { home: string; away: string }): Item[] {
  return prices.map(([selection, price]) => ({ eventId, eventName, ...sides, startsAt: at(startsAt), market, selection, price }));
}

/** alpha names home and away apart, and writes match results as 1/X/2. */
const ALPHA: Item[] = [
  ...listing('a-mun-ars', 'Manchester United v Arsenal FC', T, '1X2', [['1', 2.1], ['X', 3.4], ['2', 3.6]], { home: 'Manchester United', away: 'Arsenal FC' }),
  ...listing('a-atm-sev', 'Atlético Madrid v Sevilla', T + 3 * HOUR, 'Over/Under 2.5', [['Over', 1.8], ['Under', 2.05]], { home: 'Atlético Madrid', away: 'Sevilla' }),
  ...listing('a-atm-sev', 'Atlético Madrid v Sevilla', T + 3 * HOUR, '1X2', [['1', 1.9], ['X', 3.5], ['2', 4.2]], { home: 'Atlético Madrid', away: 'Sevilla' }),
  ...listing('a-che-eve-1', 'Chelsea v Everton', T + 6 * HOUR, '1X2', [['1', 1.7], ['X', 3.8], ['2', 5]], { home: 'Chelsea', away: 'Everton' }),
  ...listing('a-che-eve-2', 'Chelsea v Everton', T + 6 * HOUR + 7 * 24 * HOUR, '1X2', [['1', 1.75], ['X', 3.7], ['2', 4.8]], { home: 'Chelsea', away: 'Everton' }),
  ...listing('a-mu-liv', 'Man Utd v Liverpool', T + 9 * HOUR, '1X2', [['1', 2.9], ['X', 3.3], ['2', 2.4]], { home: 'Man Utd', away: 'Liverpool' }),
];

/** beta gives only an event name (its own separators and case), its own clock, and names selections after the teams. */
const BETA: Item[] = [
  // 5 minutes after alpha's start, an en dash, upper case, no club affix.
  ...listing('b-101', 'MANCHESTER UNITED – Arsenal', T + 5 * 60_000, 'h2h', [['Manchester United', '6/5'], ['Draw', 3.3], ['ARSENAL', 3.5]]),
  ...listing('b-102', 'Atletico Madrid vs. Sevilla FC', T + 3 * HOUR, 'total_goals', [['over 2.5', 1.85], ['under 2.5', 2]]),
  ...listing('b-102', 'Atletico Madrid vs. Sevilla FC', T + 3 * HOUR, 'match_result', [['home', 1.95], ['draw', 3.4], ['away', 4]]),
  // Only the second week's Chelsea v Everton.
  ...listing('b-103', 'chelsea - everton', T + 6 * HOUR + 7 * 24 * HOUR, 'match_result', [['home', 1.8], ['draw', 3.6], ['away', 4.6]]),
  ...listing('b-104', 'Manchester United v Liverpool', T + 9 * HOUR, 'match_result', [['home', 2.8], ['draw', 3.4], ['away', 2.5]]),
];

/** Home and away the other way round on each platform (a neutral venue, platforms disagreeing). */
const SWAPPED = {
  alpha: listing('a-ben-por', 'Benfica v Porto', T + 12 * HOUR, '1X2', [['1', 1.5], ['X', 4], ['2', 6]], { home: 'Benfica', away: 'Porto' }),
  beta: listing('b-105', 'Porto v Benfica', T + 12 * HOUR, 'match_result', [['home', 5.5], ['draw', 4.1], ['away', 1.55]]),
};

const requests = { alpha: 0, beta: 0 };
let bookmakers: http.Server;
let dir: string;
let server: TestServer;
let firstRun: RunDetail;
let afterFirst: OddsPage;
let afterSecond: OddsPage;
let metrics: MetricsSnapshot;

const auth = { authorization: `Bearer ${TOKEN}` };

async function runBoth(platforms?: string[]): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: platforms ? { platforms } : {}, headers: auth });
  expect(response.status).toBe(202);
  const created = (await response.json()) as RunDetail;
  return server.waitForRun(created.id, ['completed', 'partial', 'failed']);
}

async function odds(): Promise<OddsPage> {
  const response = await server.api('/api/odds?limit=50');
  expect(response.status).toBe(200);
  return (await response.json()) as OddsPage;
}

const listedAs = (page: OddsPage, platform: string, eventKey: string): SportingEventOdds | undefined =>
  page.items.find((event) => event.listings.some((listing) => listing.platform === platform && listing.eventKey === eventKey));

const pricesOf = (event: SportingEventOdds, market: string, selection: string) =>
  event.markets.find((candidate) => candidate.name === market)?.selections.find((candidate) => candidate.name === selection);

beforeAll(async () => {
  bookmakers = http.createServer((request, response) => {
    const platform = request.url?.startsWith('/alpha') ? 'alpha' : request.url?.startsWith('/beta') ? 'beta' : undefined;
    if (!platform) {
      response.writeHead(404).end();
      return;
    }
    requests[platform] += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ items: platform === 'alpha' ? [...ALPHA, ...SWAPPED.alpha] : [...BETA, ...SWAPPED.beta] }));
  });
  await new Promise<void>((resolve) => bookmakers.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(bookmakers.address() as AddressInfo).port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-matching-'));
  const file = path.join(dir, 'platforms.json');
  writeFileSync(file, JSON.stringify(['alpha', 'beta'].map((name) => ({ name, kind: 'json', url: `${origin}/${name}/odds`, select: 'items' }))));
  server = await startTestServer({ PLATFORMS_FILE: file, OPERATOR_TOKEN: TOKEN });
  // alpha lists its sporting events first, so they take alpha's home and away (a sporting event's home is
  // its first listing's): in a run of both, whichever platform's batch is matched first would decide.
  await runBoth(['alpha']);
  firstRun = await runBoth();
  afterFirst = await odds();
  await runBoth();
  afterSecond = await odds();
  metrics = await MetricsSnapshot.scrape(`${server.url}/metrics`);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await new Promise<void>((resolve) => (bookmakers ? bookmakers.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('one sporting event across two platforms that spell it differently', () => {
  it('joins case, accents, club affixes, separators and a start 5 minutes off', () => {
    expect(firstRun.status).toBe('completed');
    const manchester = listedAs(afterSecond, 'alpha', 'a-mun-ars')!;
    expect(manchester.listings).toEqual([
      { platform: 'alpha', eventKey: 'a-mun-ars', eventName: 'Manchester United v Arsenal FC' },
      { platform: 'beta', eventKey: 'b-101', eventName: 'MANCHESTER UNITED – Arsenal' },
    ]);
    expect(Date.parse(manchester.startsAt!)).toBeGreaterThanOrEqual(T);
    expect(Date.parse(manchester.startsAt!)).toBeLessThanOrEqual(T + 5 * 60_000);

    const madrid = listedAs(afterSecond, 'alpha', 'a-atm-sev')!;
    expect(madrid.listings.map((listing) => `${listing.platform}/${listing.eventKey}`)).toEqual(['alpha/a-atm-sev', 'beta/b-102']);
    expect(madrid.markets.map((market) => market.name)).toEqual(['match_result', 'totals']);
    const over = pricesOf(madrid, 'totals', 'over 2.5')!;
    expect(over.prices.map((price) => [price.platform, price.price])).toEqual([['alpha', 1.8], ['beta', 1.85]]);
    expect(pricesOf(madrid, 'totals', 'under 2.5')!.bestPrice).toBe(2.05);
  });

  it('compares 1/X/2 on one platform with team names on the other as the same selections, the best across both', () => {
    const manchester = listedAs(afterSecond, 'beta', 'b-101')!;
    const [result] = manchester.markets;
    expect(result!.name).toBe('match_result');
    const table = Object.fromEntries(
      result!.selections.map((selection) => [selection.name, { best: selection.bestPrice, prices: selection.prices.map((price) => [price.platform, price.priceText, price.best]) }]),
    );
    expect(table).toEqual({
      home: { best: 2.2, prices: [['alpha', '2.1', false], ['beta', '6/5', true]] },
      draw: { best: 3.4, prices: [['alpha', '3.4', true], ['beta', '3.3', false]] },
      away: { best: 3.6, prices: [['alpha', '3.6', true], ['beta', '3.5', false]] },
    });
  });

  it('keeps the same teams a week apart as two sporting events, each platform listing joining the right one', () => {
    const first = listedAs(afterSecond, 'alpha', 'a-che-eve-1')!;
    const second = listedAs(afterSecond, 'alpha', 'a-che-eve-2')!;
    expect(first.id).not.toBe(second.id);
    expect(first.listings.map((listing) => listing.eventKey)).toEqual(['a-che-eve-1']);
    expect(second.listings.map((listing) => listing.eventKey)).toEqual(['a-che-eve-2', 'b-103']);
    expect(second.startsAt).toBe(at(T + 6 * HOUR + 7 * 24 * HOUR));
  });

  // The pair is unordered, so the listings match; beta's home/away selections are read swapped so that each
  // team's prices are compared with that team's, under the sporting event's (alpha's, the first) home and away.
  it('compares the same team under the same selection when the platforms disagree which side is home', () => {
    const benfica = listedAs(afterSecond, 'alpha', 'a-ben-por')!;
    expect(benfica.listings.map((listing) => listing.eventKey)).toEqual(['a-ben-por', 'b-105']);
    const [result] = benfica.markets;
    // Benfica: alpha's 1 (1.5) and beta's away (1.55); Porto: alpha's 2 (6) and beta's home (5.5).
    const sides = result!.selections.map((selection) => selection.prices.map((price) => price.price).sort((a, b) => a - b));
    expect(sides).toContainEqual([1.5, 1.55]);
    expect(sides).toContainEqual([5.5, 6]);
    expect(sides).toContainEqual([4, 4.1]);
    expect(result!.selections.find((selection) => selection.name === 'home')!.prices.map((price) => price.price).sort()).toEqual([1.5, 1.55]);
  });

  it('keeps every sporting event id and its listings across a second run', () => {
    const shape = (page: OddsPage) => page.items.map((event) => ({ id: event.id, listings: event.listings.map((listing) => `${listing.platform}/${listing.eventKey}`) }));
    expect(shape(afterSecond)).toEqual(shape(afterFirst));
    // alpha's 6 listings make 6 sporting events; beta's 5 join 4 of them and add one (Man Utd v Liverpool not joined yet).
    expect(afterSecond.items).toHaveLength(7);
    expect(afterSecond.items.flatMap((event) => event.listings)).toHaveLength(11);
  });

  it('reports each platform\'s matched share on /metrics after its scrape', () => {
    // alpha: 4 of its 6 sporting events are beta's too; beta: 4 of 5.
    expect(metrics.value('oddswatch_platform_matched_ratio', { platform: 'alpha' })).toBeCloseTo(4 / 6, 6);
    expect(metrics.value('oddswatch_platform_matched_ratio', { platform: 'beta' })).toBeCloseTo(4 / 5, 6);
  });
});

describe('aliases join what normalisation cannot', () => {
  it('"Man Utd" and "Manchester United" are two sporting events until an alias joins them, without a scrape, and deleting it splits them', async () => {
    const before = await odds();
    const alphaEvent = listedAs(before, 'alpha', 'a-mu-liv')!;
    const betaEvent = listedAs(before, 'beta', 'b-104')!;
    expect(alphaEvent.id).not.toBe(betaEvent.id);
    const manchester = listedAs(before, 'alpha', 'a-mun-ars')!.id;
    const scraped = { ...requests };

    const set = await server.api('/api/aliases', { method: 'PUT', json: { alias: 'Man Utd', canonical: 'Manchester United' }, headers: auth });
    expect(set.status).toBe(200);
    const body = (await set.json()) as { alias: ParticipantAliasInfo; moved: number };
    expect(body.alias).toMatchObject({ alias: 'Man Utd', canonical: 'Manchester United', aliasKey: 'man utd', canonicalKey: 'manchester united' });
    expect(body.moved).toBe(1);
    const listed = (await (await server.api('/api/aliases')).json()) as ParticipantAliasInfo[];
    expect(listed.map((alias) => alias.alias)).toEqual(['Man Utd']);

    const joined = await odds();
    const liverpool = listedAs(joined, 'alpha', 'a-mu-liv')!;
    expect(liverpool.id).toBe(betaEvent.id);
    expect(liverpool.listings.map((listing) => `${listing.platform}/${listing.eventKey}`)).toEqual(['alpha/a-mu-liv', 'beta/b-104']);
    expect(joined.items.some((event) => event.id === alphaEvent.id)).toBe(false);
    expect(pricesOf(liverpool, 'match_result', 'home')!.prices.map((price) => price.price)).toEqual([2.9, 2.8]);
    // The other sporting event with Manchester United in it stays where it was.
    expect(listedAs(joined, 'beta', 'b-101')!.id).toBe(manchester);
    expect(requests).toEqual(scraped);

    const removed = await server.api(`/api/aliases/${encodeURIComponent('Man Utd')}`, { method: 'DELETE', headers: auth });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ moved: 1 });
    const split = await odds();
    expect(listedAs(split, 'beta', 'b-104')!.id).toBe(betaEvent.id);
    expect(listedAs(split, 'alpha', 'a-mu-liv')!.id).not.toBe(betaEvent.id);
    expect(listedAs(split, 'beta', 'b-101')!.id).toBe(manchester);
    expect(await (await server.api('/api/aliases')).json()).toEqual([]);
    expect(requests).toEqual(scraped);
  });

  it('need the operator token to be set or deleted', async () => {
    const set = await server.api('/api/aliases', { method: 'PUT', json: { alias: 'Spurs', canonical: 'Tottenham Hotspur' } });
    expect(set.status).toBe(401);
    const wrong = await server.api('/api/aliases', { method: 'PUT', json: { alias: 'Spurs', canonical: 'Tottenham Hotspur' }, headers: { authorization: 'Bearer not-the-operator-token' } });
    expect(wrong.status).toBe(401);
    const made = await server.api('/api/aliases', { method: 'PUT', json: { alias: 'Spurs', canonical: 'Tottenham Hotspur' }, headers: auth });
    expect(made.status).toBe(200);
    const removed = await server.api('/api/aliases/Spurs', { method: 'DELETE' });
    expect(removed.status).toBe(401);
    expect(((await (await server.api('/api/aliases')).json()) as ParticipantAliasInfo[]).map((alias) => alias.alias)).toEqual(['Spurs']);
    expect((await server.api('/api/aliases/Spurs', { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await server.api('/api/aliases/Spurs', { method: 'DELETE', headers: auth })).status).toBe(404);
  });

  it('refuse an empty alias and one that already normalises to its canonical name (400)', async () => {
    for (const body of [
      { alias: '', canonical: 'Manchester United' },
      { alias: 'Man Utd', canonical: '' },
      { alias: '...', canonical: 'Manchester United' },
      { alias: 'Manchester United FC', canonical: 'manchester united' },
      { alias: 'Atlético Madrid', canonical: 'Atletico Madrid' },
    ]) {
      const response = await server.api('/api/aliases', { method: 'PUT', json: body, headers: auth });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect(await (await server.api('/api/aliases')).json()).toEqual([]);
  });
});
