/**
 * The Odds page's data: a finished scrape refetches that bookmaker's prices of the page shown (never the whole
 * table, nothing on progress events), merged in place with the best marks following the server's best price;
 * staleness from the scrape interval. Fake fetch: the real service is driven in Chromium (tests/e2e/odds.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { BookmakerPrice, OddsPage, PlatformInfo, SportingEventOdds } from '@contract';
import { isStale, mergeBookmakerPrices } from '@/lib/odds';
import { useOddsStore } from '@/stores/odds';
import { ev } from './helpers/fixtures';
import { flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => setActivePinia(createPinia()));

const price = (platform: string, value: number, best: boolean): BookmakerPrice => ({
  platform, price: value, best, scrapedAt: '2026-01-01T00:00:00.000Z', runId: 1, movement: 'new', previousPrice: null, previousScrapedAt: null,
});
const event = (key: string, prices: BookmakerPrice[], bestPrice = Math.max(...prices.map((p) => p.price))): SportingEventOdds => ({
  eventKey: key, eventName: `Event ${key}`, markets: [{ name: 'match_result', selections: [{ name: 'home', bestPrice, prices }] }],
});
const cell = (events: SportingEventOdds[], key: string, platform: string) =>
  events.find((e) => e.eventKey === key)?.markets[0]!.selections[0]!.prices.find((p) => p.platform === platform);

describe('mergeBookmakerPrices', () => {
  it("replaces one bookmaker's prices and moves the best mark to what the server says is best", () => {
    const page = [event('a', [price('alpha', 2.0, true), price('bravo', 1.9, false)]), event('c', [price('alpha', 3.0, true)])];
    mergeBookmakerPrices(page, [event('a', [{ ...price('bravo', 2.2, true), movement: 'up', previousPrice: 1.9 }], 2.2)], 'bravo', false);
    expect(cell(page, 'a', 'bravo')).toMatchObject({ price: 2.2, best: true, movement: 'up' });
    expect(cell(page, 'a', 'alpha')).toMatchObject({ price: 2.0, best: false });
    expect(page[0]!.markets[0]!.selections[0]!.prices).toHaveLength(2);
    expect(cell(page, 'c', 'alpha')).toMatchObject({ price: 3.0, best: true });
  });

  it('adds a new sporting event only where the server orders it inside the page', () => {
    const page = [event('a', [price('alpha', 2, true)]), event('c', [price('alpha', 2, true)])];
    // b comes before c in the server's order: inside the page. d comes after the page's last event: not ours.
    mergeBookmakerPrices(page, [event('b', [price('bravo', 2, true)]), event('c', [price('bravo', 1, false)], 2), event('d', [price('bravo', 2, true)])], 'bravo', false);
    expect(page.map((e) => e.eventKey)).toEqual(['a', 'b', 'c']);
    mergeBookmakerPrices(page, [event('d', [price('bravo', 2, true)])], 'bravo', true);
    expect(page.map((e) => e.eventKey)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('isStale', () => {
  const info = (lastSuccessAt: string | null) => ({ name: 'alpha', lastSuccessAt }) as PlatformInfo;
  const now = Date.parse('2026-01-01T01:00:00Z');
  it('is stale after two scrape intervals without a success, or with none ever', () => {
    expect(isStale(info('2026-01-01T00:51:00Z'), 300, now)).toBe(false);
    expect(isStale(info('2026-01-01T00:49:00Z'), 300, now)).toBe(true);
    expect(isStale(info(null), 300, now)).toBe(true);
    expect(isStale(info(null), null, now)).toBe(false);
  });
});

describe('odds store', () => {
  it('a finished scrape refetches only that bookmaker on the page shown; progress events and a closed page fetch nothing', async () => {
    const full: OddsPage = { items: [event('a', [price('alpha', 2.0, true), price('bravo', 1.9, false)])], nextCursor: 'next' };
    const bravo: OddsPage = { items: [event('a', [price('bravo', 2.5, true)], 2.5)], nextCursor: null };
    const fake = installFakeFetch({ 'GET /api/odds': (call) => ({ body: call.url.searchParams.get('platform') === 'bravo' ? bravo : full }) });
    const odds = useOddsStore();
    await odds.open({ platform: null, q: 'rovers', cursor: 'page2' });
    expect(fake.calls.map((c) => c.path)).toEqual(['/api/odds?q=rovers&cursor=page2&limit=20']);

    odds.applyEvent(ev.progress(10, 2, 1, 'bravo', 4));
    odds.applyEvent(ev.completed(11, 3, 1, 'bravo', 1, 10));
    odds.applyEvent(ev.completed(12, 4, 1, 'bravo', 1, 10)); // coalesced with the one queued
    await flush();
    expect(fake.calls.map((c) => c.path)).toEqual(['/api/odds?q=rovers&cursor=page2&limit=20', '/api/odds?platform=bravo&q=rovers&cursor=page2&limit=20']);
    expect(cell(odds.items, 'a', 'bravo')).toMatchObject({ price: 2.5, best: true });
    expect(cell(odds.items, 'a', 'alpha')).toMatchObject({ best: false });

    await odds.refresh(); // reconnect or resync: the whole page
    expect(fake.calls).toHaveLength(3);
    odds.close();
    odds.applyEvent(ev.completed(13, 5, 1, 'alpha', 2, 10));
    await odds.refresh();
    await flush();
    expect(fake.calls).toHaveLength(3);
  });

  it('with a bookmaker filter, another bookmaker finishing fetches nothing', async () => {
    const fake = installFakeFetch({ 'GET /api/odds': { body: { items: [], nextCursor: null } } });
    const odds = useOddsStore();
    await odds.open({ platform: 'alpha', q: '', cursor: null });
    odds.applyEvent(ev.completed(11, 3, 1, 'bravo', 1, 10));
    await flush();
    expect(fake.calls.map((c) => c.path)).toEqual(['/api/odds?platform=alpha&limit=20']);
  });
});
