/**
 * The Odds page's data: a finished scrape refetches that platform's prices of the page shown (never the whole
 * table, nothing on progress events), merged in place with the best marks following the server's best price;
 * a column per bookmaker of each platform; each platform's staleness as the API says it, shared by its bookmakers.
 * Fake fetch: the real service is driven in Chromium (tests/e2e/odds.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter, RouterView } from 'vue-router';
import { defineComponent, h } from 'vue';
import type { BookmakerFreshness, BookmakerPrice, OddsPage, PlatformInfo, SportingEventOdds } from '@contract';
import { bookmakerColumns, bookmakerState, columnLabel, mergeBookmakerPrices, orderedSelections, writtenOtherwise } from '@/lib/odds';
import { routes } from '@/router';
import OddsPriceCell from '@/components/OddsPriceCell.vue';
import { useOddsStore } from '@/stores/odds';
import { usePlatformsStore } from '@/stores/platforms';
import { useSchedulerStore } from '@/stores/scheduler';
import { ev, makeJob, makeScheduler } from './helpers/fixtures';
import { flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => setActivePinia(createPinia()));

const Root = defineComponent({ render: () => h(RouterView) });

const price = (platform: string, value: number, best: boolean, bookmaker = platform): BookmakerPrice => ({
  bookmaker, platform, price: value, priceText: String(value), best, scrapedAt: '2026-01-01T00:00:00.000Z', runId: 1, movement: 'new', previousPrice: null, previousScrapedAt: null, consensus: null, outlier: false,
});
const event = (id: number, prices: BookmakerPrice[], bestPrice = Math.max(...prices.map((p) => p.price))): SportingEventOdds => ({
  id,
  eventName: `Event ${id}`,
  startsAt: '2026-01-02T15:00:00.000Z',
  listings: [...new Set(prices.map((p) => p.platform))].map((platform) => ({ platform, eventKey: `${platform}-${id}`, eventName: `Event ${id}` })),
  markets: [{ name: 'match_result', selections: [{ name: 'home', bestPrice, prices }] }],
});
const cell = (events: SportingEventOdds[], id: number, platform: string, bookmaker = platform) =>
  events.find((e) => e.id === id)?.markets[0]!.selections[0]!.prices.find((p) => p.platform === platform && p.bookmaker === bookmaker);

describe('mergeBookmakerPrices', () => {
  it("replaces one bookmaker's prices and moves the best mark to what the server says is best", () => {
    const page = [event(1, [price('alpha', 2.0, true), price('bravo', 1.9, false)]), event(3, [price('alpha', 3.0, true)])];
    mergeBookmakerPrices(page, [event(1, [{ ...price('bravo', 2.2, true), movement: 'up', previousPrice: 1.9 }], 2.2)], 'bravo', false);
    expect(cell(page, 1, 'bravo')).toMatchObject({ price: 2.2, best: true, movement: 'up' });
    expect(cell(page, 1, 'alpha')).toMatchObject({ price: 2.0, best: false });
    expect(page[0]!.markets[0]!.selections[0]!.prices).toHaveLength(2);
    expect(cell(page, 3, 'alpha')).toMatchObject({ price: 3.0, best: true });
  });

  it("replaces every bookmaker a platform brings, and takes the sporting event's listings and start time", () => {
    const page = [event(1, [price('alpha', 2.0, false), price('odds', 2.1, true, 'copperbet'), price('odds', 1.8, false, 'tideway')])];
    const fresh = event(1, [price('odds', 2.3, true, 'copperbet'), price('odds', 1.7, false, 'meridian')], 2.3);
    fresh.startsAt = '2026-01-02T15:05:00.000Z';
    fresh.listings = [...page[0]!.listings, { platform: 'quay', eventKey: 'q-1', eventName: 'Event One FC' }];
    mergeBookmakerPrices(page, [fresh], 'odds', false);
    const prices = page[0]!.markets[0]!.selections[0]!.prices;
    expect(prices.map((p) => `${p.bookmaker}@${p.platform}:${p.price}:${p.best}`)).toEqual(['alpha@alpha:2:false', 'copperbet@odds:2.3:true', 'meridian@odds:1.7:false']);
    expect(page[0]!.startsAt).toBe('2026-01-02T15:05:00.000Z');
    expect(page[0]!.listings.map((l) => l.platform)).toEqual(['alpha', 'odds', 'quay']);
  });

  it('adds a new sporting event only where the server orders it inside the page', () => {
    const page = [event(1, [price('alpha', 2, true)]), event(3, [price('alpha', 2, true)])];
    // 2 comes before 3 in the server's order: inside the page. 4 comes after the page's last event: not ours.
    mergeBookmakerPrices(page, [event(2, [price('bravo', 2, true)]), event(3, [price('bravo', 1, false)], 2), event(4, [price('bravo', 2, true)])], 'bravo', false);
    expect(page.map((e) => e.id)).toEqual([1, 2, 3]);
    mergeBookmakerPrices(page, [event(4, [price('bravo', 2, true)])], 'bravo', true);
    expect(page.map((e) => e.id)).toEqual([1, 2, 3, 4]);
  });
});

describe('bookmaker columns', () => {
  it('gives each bookmaker of a platform its own column, platforms in configuration order, the platform itself first', () => {
    const page = [
      event(1, [price('odds', 2, false, 'tideway'), price('alpha', 2, true), price('odds', 2, false, 'copperbet')]),
      event(2, [price('odds', 2, false, 'meridian'), price('odds', 2, false, 'odds'), price('quay', 2, false)]),
    ];
    const columns = bookmakerColumns(['alpha', 'odds', 'quay', 'idle'], page);
    expect(columns.map(columnLabel)).toEqual(['alpha', 'odds', 'copperbet via odds', 'meridian via odds', 'tideway via odds', 'quay', 'idle']);
    expect(new Set(columns.map((c) => c.key)).size).toBe(columns.length);
    // Only what the filter shows: a platform, however many bookmakers it brings.
    expect(bookmakerColumns(['odds'], page).map((c) => c.bookmaker)).toEqual(['odds', 'copperbet', 'meridian', 'tideway']);
  });

  it('keeps the text a platform wrote only when it is not the decimal shown', () => {
    expect(writtenOtherwise({ price: 2.4, priceText: '+140' })).toBe('+140');
    expect(writtenOtherwise({ price: 2.4, priceText: '7/5' })).toBe('7/5');
    expect(writtenOtherwise({ price: 2.4, priceText: '2.4' })).toBeNull();
    expect(writtenOtherwise({ price: 2.4, priceText: '2.40' })).toBeNull();
    expect(writtenOtherwise({ price: 2.4, priceText: '' })).toBeNull();
  });

  it('reads a match result home, draw, away and leaves other selections in the order sent', () => {
    const named = (...names: string[]) => names.map((name) => ({ name, bestPrice: 2, prices: [] }));
    expect(orderedSelections(named('away', 'draw', 'home')).map((s) => s.name)).toEqual(['home', 'draw', 'away']);
    expect(orderedSelections(named('over 2.5', 'under 2.5')).map((s) => s.name)).toEqual(['over 2.5', 'under 2.5']);
  });
});

const oddsPage = (items: SportingEventOdds[], bookmakers: BookmakerFreshness[], scrapeIntervalSeconds = 300): OddsPage => ({
  items, nextCursor: null, bookmakers, scrapeIntervalSeconds, staleAfterSeconds: 3 * scrapeIntervalSeconds, outlierThreshold: 0.25, frozenBookmakers: [],
});

describe('OddsPriceCell', () => {
  const table = (price: BookmakerPrice) =>
    mount({ components: { OddsPriceCell }, template: '<table><tr><OddsPriceCell v-bind="props" /></tr></table>', data: () => ({ props: { price, bookmaker: 'luckyowl', platform: 'luckyowl', state: 'fresh', note: '', now: 0 } }) });

  it('marks an outlier with a flag, and says in words how far from which median', () => {
    const cell = table({ ...price('luckyowl', 3.1, true), consensus: 2.05, outlier: true }).get('td');
    expect(cell.attributes('data-outlier')).toBe('true');
    expect(cell.classes()).toContain('outlier');
    expect(cell.get('[data-testid="odds-outlier-mark"]').text()).toBe("⚑, outlier: 51% above the other bookmakers' median 2.05");
    expect(cell.attributes('title')).toContain("outlier: 51% above the other bookmakers' median 2.05 (a data error or a real opportunity)");
  });

  it('marks nothing on a price within the consensus', () => {
    const cell = table({ ...price('luckyowl', 2.1, false), consensus: 2.05, outlier: false }).get('td');
    expect(cell.attributes('data-outlier')).toBe('false');
    expect(cell.find('[data-testid="odds-outlier-mark"]').exists()).toBe(false);
  });
});

describe('bookmakerState', () => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  it("is the API's stale flag, carried forward by the API's staleAt; never decided from times here", () => {
    expect(bookmakerState({ platform: 'alpha', lastSuccessAt: '2026-01-01T00:00:00Z', stale: true, staleAt: '2026-01-01T00:15:00Z' }, now)).toBe('stale');
    // A last success an hour ago is fresh when the API says so (say, a 30-minute interval): no threshold of our own.
    expect(bookmakerState({ platform: 'alpha', lastSuccessAt: '2026-01-01T00:00:00Z', stale: false, staleAt: '2026-01-01T01:30:00Z' }, now)).toBe('fresh');
    // The page stays open past staleAt with no success: the API's rule has turned it stale by now.
    expect(bookmakerState({ platform: 'alpha', lastSuccessAt: '2026-01-01T00:44:00Z', stale: false, staleAt: '2026-01-01T00:59:00Z' }, now)).toBe('stale');
    expect(bookmakerState({ platform: 'alpha', lastSuccessAt: null, stale: false, staleAt: null }, now)).toBe('never');
    expect(bookmakerState(undefined, now)).toBe('unknown');
  });
});

describe('OddsView staleness', () => {
  const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
  const at = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
  const priceAt = (platform: string, value: number, scrapedAt: string): BookmakerPrice => ({ ...price(platform, value, false), scrapedAt });

  it("marks the bookmakers the API calls stale, whatever their prices' age, and calls no price stale", async () => {
    // alpha: last success 20 minutes ago, stale by the API; its prices are 31 s old (a failed scrape wrote them).
    // bravo: last success 14 minutes ago, not stale by the API (over two 300 s intervals: stale by the page's old rule).
    // charlie: never scraped successfully; delta: the API says nothing of it.
    const page = oddsPage(
      [event(1, [priceAt('alpha', 2.1, ago(31)), priceAt('bravo', 1.9, ago(840)), priceAt('charlie', 1.8, ago(1)), priceAt('delta', 1.7, ago(5))])],
      [{ platform: 'alpha', lastSuccessAt: ago(1200), stale: true, staleAt: ago(300) }, { platform: 'bravo', lastSuccessAt: ago(840), stale: false, staleAt: at(60) }, { platform: 'charlie', lastSuccessAt: null, stale: false, staleAt: null }],
    );
    installFakeFetch({
      'GET /api/odds': { body: page },
      'GET /api/meta': { body: { version: 't', authRequired: false, platforms: ['alpha', 'bravo', 'charlie', 'delta'], connectionGraceMs: 15000 } },
      'GET /api/platforms': {
        body: { items: ['alpha', 'bravo', 'charlie', 'delta'].map((name) => ({ name, lastSuccessAt: name === 'alpha' ? ago(1200) : ago(840) }) as PlatformInfo) },
      },
      'GET /api/scheduler': { body: makeScheduler({ jobs: [makeJob({ id: 'scrape_all_platforms', intervalSeconds: 300 })] }) },
    });
    await Promise.all([usePlatformsStore().fetchMeta(), usePlatformsStore().load(), useSchedulerStore().load()]);
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/odds');
    await router.isReady();
    const wrapper = mount(Root, { global: { plugins: [router] } });
    await flush();

    const column = (b: string) => wrapper.get(`[data-testid="odds-bookmaker-col"][data-platform="${b}"]`);
    const cellOf = (b: string) => wrapper.get(`[data-testid="odds-price"][data-platform="${b}"]`);
    // Not stale by the API: the page has no threshold of its own (two 300 s intervals made it stale before).
    expect(column('bravo').attributes('data-stale')).toBe('false');
    expect(column('bravo').text()).not.toContain('stale');
    expect(cellOf('bravo').attributes('data-stale')).toBe('false');
    expect(cellOf('bravo').find('[data-testid="odds-age"]').exists()).toBe(false);
    expect(column('alpha').attributes('data-stale')).toBe('true');
    expect(column('alpha').text()).toContain('stale');
    expect(column('alpha').get('[data-testid="odds-last-success"]').text()).toBe('last success 20m ago');
    expect(cellOf('alpha').attributes('data-stale')).toBe('true');
    expect(cellOf('alpha').classes()).toContain('stale');
    // The price shows its age and is never called stale.
    expect(cellOf('alpha').get('[data-testid="odds-age"]').text()).toMatch(/^, scraped 3\ds ago$/);
    expect(cellOf('alpha').text()).not.toMatch(/stale/i);

    expect(column('charlie').attributes('data-state')).toBe('never');
    expect(column('charlie').text()).toContain('no success yet');
    expect(cellOf('charlie').classes()).toContain('stale');
    expect(cellOf('charlie').get('[data-testid="odds-age"]').text()).toBe(', scraped just now');
    expect(cellOf('delta').attributes('data-state')).toBe('unknown');
    expect(cellOf('delta').classes()).not.toContain('stale');

    expect(wrapper.get('[data-testid="odds-stale-legend"]').text()).toContain('no successful scrape for over 15 min (3 scrape intervals)');
    wrapper.unmount();
  });
});

describe('OddsView columns', () => {

  it('shows each price under its bookmaker, one through an odds API as "via" it, stale with its platform; the start time, the listings and the price as written', async () => {
    const now = Date.now();
    const iso = (offset: number) => new Date(now + offset * 1000).toISOString();
    const item = event(7, [
      { ...price('alpha', 2.4, true), priceText: '+140' },
      price('odds', 2.1, false, 'copperbet'),
      price('odds', 2.2, false, 'tideway'),
      { ...price('quay', 2.4, true), priceText: '7/5' },
    ]);
    item.eventName = 'Arsenal v Dynamo';
    item.listings = [
      { platform: 'alpha', eventKey: '40100', eventName: 'Arsenal v Dynamo' },
      { platform: 'odds', eventKey: 'sim000000', eventName: 'Arsenal v Dynamo' },
      { platform: 'quay', eventKey: '9000', eventName: 'Arsenal FC v Dynamo' },
    ];
    const page = oddsPage([item], [
      { platform: 'alpha', lastSuccessAt: iso(-10), stale: false, staleAt: iso(890) },
      { platform: 'odds', lastSuccessAt: iso(-1200), stale: true, staleAt: iso(-300) },
      { platform: 'quay', lastSuccessAt: iso(-10), stale: false, staleAt: iso(890) },
    ]);
    page.frozenBookmakers = [{ platform: 'quay', bookmaker: 'quay' }];
    installFakeFetch({
      'GET /api/odds': { body: page },
      'GET /api/meta': { body: { version: 't', authRequired: false, platforms: ['alpha', 'odds', 'quay'], connectionGraceMs: 15000 } },
      'GET /api/platforms': { body: { items: [] } },
      'GET /api/scheduler': { body: makeScheduler({ jobs: [makeJob({ id: 'scrape_all_platforms', intervalSeconds: 300 })] }) },
    });
    await usePlatformsStore().fetchMeta();
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/odds');
    await router.isReady();
    const wrapper = mount(Root, { global: { plugins: [router] } });
    await flush();

    const headers = wrapper.findAll('[data-testid="odds-bookmaker-col"]');
    expect(headers.map((c) => c.text().replace(/\s+/g, ' ').trim())).toEqual([
      'alpha',
      'copperbet via odds stale last success 20m ago',
      'tideway via odds stale last success 20m ago',
      'quay ❄ frozen',
    ]);
    expect(headers[3]!.attributes('data-frozen')).toBe('true');
    expect(headers[0]!.attributes('data-frozen')).toBe('false');
    const cellOf = (bookmaker: string) => wrapper.get(`[data-testid="odds-price"][data-bookmaker="${bookmaker}"]`);
    // The stale platform's bookmakers are stale, not the others.
    expect(cellOf('copperbet').attributes('data-stale')).toBe('true');
    expect(cellOf('tideway').attributes('data-platform')).toBe('odds');
    expect(cellOf('tideway').classes()).toContain('stale');
    expect(cellOf('alpha').attributes('data-stale')).toBe('false');
    // Decimal shown, the text as written in the tooltip and for screen readers when it differs.
    expect(cellOf('alpha').get('[data-testid="odds-price-value"]').text()).toBe('2.40');
    expect(cellOf('alpha').attributes('title')).toContain('alpha 2.40 (written +140)');
    expect(cellOf('alpha').get('[data-testid="odds-price-written"]').text()).toBe('(written +140)');
    expect(cellOf('quay').attributes('title')).toContain('(written 7/5)');
    expect(cellOf('copperbet').find('[data-testid="odds-price-written"]').exists()).toBe(false);
    expect(cellOf('copperbet').attributes('title')).toMatch(/^copperbet via odds 2\.10 · /);
    expect(cellOf('alpha').text()).toContain('best price');

    const eventRow = wrapper.get('[data-testid="odds-event"][data-event-id="7"]');
    expect(eventRow.get('[data-testid="odds-event-name"]').text()).toBe('Arsenal v Dynamo');
    expect(eventRow.get('[data-testid="odds-starts-at"]').attributes('datetime')).toBe('2026-01-02T15:00:00.000Z');
    expect(eventRow.get('[data-testid="odds-listings"] summary').text()).toBe('3 listings');
    expect(eventRow.findAll('[data-testid="odds-listing"]').map((l) => l.text().replace(/\s+/g, ' '))).toEqual([
      'alpha Arsenal v Dynamo #40100',
      'odds Arsenal v Dynamo #sim000000',
      'quay Arsenal FC v Dynamo #9000',
    ]);
    wrapper.unmount();
  });

  it('with a platform filter, shows that platform\'s bookmakers only, and the select says which even when the platform list comes later', async () => {
    const page = oddsPage([event(1, [price('odds', 2.1, true, 'copperbet'), price('odds', 2, false, 'meridian')])], []);
    const fake = installFakeFetch({
      'GET /api/odds': { body: page },
      'GET /api/meta': { body: { version: 't', authRequired: false, platforms: ['alpha', 'odds'], connectionGraceMs: 15000 } },
    });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/odds?platform=odds');
    await router.isReady();
    const wrapper = mount(Root, { global: { plugins: [router] }, attachTo: document.body });
    await flush();
    expect(fake.callsTo('GET', '/api/odds').map((c) => c.url.searchParams.get('platform'))).toEqual(['odds']);
    expect(wrapper.findAll('[data-testid="odds-bookmaker-col"]').map((c) => c.attributes('data-bookmaker'))).toEqual(['copperbet', 'meridian']);
    // The options arrive after the select was drawn with the URL's platform.
    await usePlatformsStore().fetchMeta();
    await flush();
    expect((wrapper.get('[data-testid="odds-platform"]').element as HTMLSelectElement).value).toBe('odds');
    await wrapper.get('[data-testid="odds-platform"]').setValue('alpha');
    await flush();
    expect(router.currentRoute.value.query).toEqual({ platform: 'alpha' });
    wrapper.unmount();
  });
});

describe('odds store', () => {
  it('a finished scrape refetches only that bookmaker on the page shown; progress events and a closed page fetch nothing', async () => {
    const full: OddsPage = { ...oddsPage([event(1, [price('alpha', 2.0, true), price('bravo', 1.9, false)])], []), nextCursor: 'next' };
    const bravo: OddsPage = oddsPage([event(1, [price('bravo', 2.5, true)], 2.5)], []);
    const fake = installFakeFetch({ 'GET /api/odds': (call) => ({ body: call.url.searchParams.get('platform') === 'bravo' ? bravo : full }) });
    const odds = useOddsStore();
    await odds.open({ platform: null, q: 'rovers', cursor: 'page2' });
    expect(fake.calls.map((c) => c.path)).toEqual(['/api/odds?q=rovers&cursor=page2&limit=20']);

    odds.applyEvent(ev.progress({ id: 10, seq: 2, runId: 1, platform: 'bravo', eventsFound: 4 }));
    odds.applyEvent(ev.completed({ id: 11, seq: 3, runId: 1, platform: 'bravo', platformsDone: 1, eventsFound: 10 }));
    odds.applyEvent(ev.completed({ id: 12, seq: 4, runId: 1, platform: 'bravo', platformsDone: 1, eventsFound: 10 })); // coalesced with the one queued
    await flush();
    expect(fake.calls.map((c) => c.path)).toEqual(['/api/odds?q=rovers&cursor=page2&limit=20', '/api/odds?platform=bravo&q=rovers&cursor=page2&limit=20']);
    expect(cell(odds.items, 1, 'bravo')).toMatchObject({ price: 2.5, best: true });
    expect(cell(odds.items, 1, 'alpha')).toMatchObject({ best: false });

    await odds.refresh(); // reconnect or resync: the whole page
    expect(fake.calls).toHaveLength(3);
    odds.close();
    odds.applyEvent(ev.completed({ id: 13, seq: 5, runId: 1, platform: 'alpha', platformsDone: 2, eventsFound: 10 }));
    await odds.refresh();
    await flush();
    expect(fake.calls).toHaveLength(3);
  });

  it('with a bookmaker filter, another bookmaker finishing fetches nothing', async () => {
    const fake = installFakeFetch({ 'GET /api/odds': { body: oddsPage([], []) } });
    const odds = useOddsStore();
    await odds.open({ platform: 'alpha', q: '', cursor: null });
    odds.applyEvent(ev.completed({ id: 11, seq: 3, runId: 1, platform: 'bravo', platformsDone: 1, eventsFound: 10 }));
    await flush();
    expect(fake.calls.map((c) => c.path)).toEqual(['/api/odds?platform=alpha&limit=20']);
  });

  it("takes each bookmaker's freshness from the API: the page's, then a finished scrape's refetch of that bookmaker", async () => {
    const fake = installFakeFetch({
      'GET /api/odds': (call) => ({
        body:
          call.url.searchParams.get('platform') === 'bravo'
            ? oddsPage([], [{ platform: 'bravo', lastSuccessAt: '2026-01-01T01:00:00.000Z', stale: false, staleAt: '2026-01-01T01:15:00.000Z' }])
            : oddsPage([], [{ platform: 'alpha', lastSuccessAt: '2026-01-01T00:00:00.000Z', stale: false, staleAt: '2026-01-01T00:15:00.000Z' }, { platform: 'bravo', lastSuccessAt: '2026-01-01T00:00:00.000Z', stale: true, staleAt: '2026-01-01T00:15:00.000Z' }]),
      }),
    });
    const odds = useOddsStore();
    await odds.open({ platform: null, q: '', cursor: null });
    expect(odds.freshness.bravo).toMatchObject({ stale: true });
    expect(odds.staleAfterSeconds).toBe(900);
    odds.applyEvent(ev.completed({ id: 11, seq: 3, runId: 1, platform: 'bravo', platformsDone: 1, eventsFound: 10 }));
    await flush();
    expect(odds.freshness.bravo).toMatchObject({ stale: false, lastSuccessAt: '2026-01-01T01:00:00.000Z' });
    expect(odds.freshness.alpha).toMatchObject({ lastSuccessAt: '2026-01-01T00:00:00.000Z' });
    expect(fake.calls).toHaveLength(2);
  });

  it('reads the page again when the scrape interval changes (the stale threshold moves), not on every scheduler tick', async () => {
    const fake = installFakeFetch({ 'GET /api/odds': [{ body: oddsPage([], [], 300) }, { body: oddsPage([], [], 60) }] });
    const odds = useOddsStore();
    await odds.open({ platform: null, q: '', cursor: null });
    const withInterval = (seconds: number) => makeScheduler({ jobs: [makeJob({ id: 'detect_stale_runs', intervalSeconds: 60 }), makeJob({ id: 'scrape_all_platforms', intervalSeconds: seconds })] });
    odds.applyEvent(ev.scheduler({ id: 20, scheduler: withInterval(300) }));
    await flush();
    expect(fake.calls).toHaveLength(1);
    odds.applyEvent(ev.scheduler({ id: 21, scheduler: withInterval(60) }));
    await flush();
    expect(fake.calls).toHaveLength(2);
    expect(odds.staleAfterSeconds).toBe(180);
  });

  it('dims the list while another page comes, not while the page shown is read again (a reconnect)', async () => {
    installFakeFetch({ 'GET /api/odds': { body: oddsPage([event(1, [price('alpha', 2.0, true)])], []) } });
    const odds = useOddsStore();
    const opening = odds.open({ platform: null, q: '', cursor: null });
    expect(odds.loading).toBe(true);
    await opening;
    expect(odds.loading).toBe(false);
    const again = odds.refresh();
    expect(odds.loading).toBe(false);
    await again;
    const next = odds.open({ platform: null, q: '', cursor: 'page2' });
    expect(odds.loading).toBe(true);
    await next;
    expect(odds.loading).toBe(false);
  });
});
