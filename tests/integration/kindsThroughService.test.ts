import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED_ODDS_API_BOOKMAKERS } from '../../src/platforms/simulator/oddsApiRoute.js';
import { SIMULATED_BOOKMAKERS } from '../../src/platforms/simulatedFeeds.js';
import type { BookmakerPrice, OddsPage, PlatformInfo, RunDetail, SportingEventOdds, StepFailureReason } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Every platform kind through the built service as `npm start` runs it with the shipped defaults: no
 * PLATFORMS_FILE, so the built-in simulator serves six feeds, an odds API (oddsline, three bookmakers), a
 * JSON API (quayside, fractional prices, its own spellings, kick-off 5 minutes later), HTML pages
 * (oakridge, American prices) and two single-page bookmakers read in Chromium (kestrel by capture, nightjar
 * from its rendered DOM). SIM_FEEDS only shortens pages and latency, and, in the second service, injects one
 * fault per kind, each of which must surface as its step's reason and as a `reason` label.
 */
const FAST = { latencyMs: 20, pages: 2, eventsPerPage: 5 };
/** Events n = 0..9 on every paged platform, 0..4 on the odds API (it serves one page). */
const EVENTS = FAST.pages * FAST.eventsPerPage;
const ODDS_API_EVENTS = FAST.eventsPerPage;
const PLATFORMS = Object.keys(SIMULATED_BOOKMAKERS);
const ODDS_API_BOOKMAKERS = SIMULATED_ODDS_API_BOOKMAKERS.map((bookmaker) => bookmaker.key);

/** The fault injected per kind in the second service, and the reason its step must carry. */
const FAULTS: Record<string, { knobs: Record<string, unknown>; reason: StepFailureReason; outcome: string }> = {
  redfox: { knobs: { hang: true }, reason: 'timeout', outcome: 'timeout' }, // feed
  bluepeak: { knobs: { failureRate: 1 }, reason: 'http_5xx', outcome: 'failed' }, // feed
  oddsline: { knobs: { quota: 0 }, reason: 'quota_exhausted', outcome: 'failed' }, // odds-api
  quayside: { knobs: { hang: true }, reason: 'timeout', outcome: 'timeout' }, // json
  oakridge: { knobs: { failureRate: 1 }, reason: 'http_5xx', outcome: 'failed' }, // html
  kestrel: { knobs: { neverLoads: true }, reason: 'timeout', outcome: 'timeout' }, // browser
  nightjar: { knobs: { blockPage: true }, reason: 'blocked', outcome: 'failed' }, // browser
};
// Long enough for a cold Chromium to start and show its block page; the hung platforms wait it out.
const PLATFORM_TIMEOUT_MS = 10_000;

interface Started {
  db: TestDatabase;
  service: ChildService;
  run: RunDetail;
}

async function startAndRun(env: Record<string, string>): Promise<Started> {
  const db = await createTestDatabase();
  const service = await spawnService({ DATABASE_URL: db.url, ...env }, { timeoutMs: 90_000 });
  const response = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(response.status).toBe(202);
  const created = (await response.json()) as RunDetail;
  const run = await waitFor(async () => {
    const current = (await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail;
    return current.finishedAt ? current : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100, what: `run ${created.id} to finish` });
  return { db, service, run };
}

let healthy: Started | undefined;
let faulty: Started | undefined;
let odds: OddsPage;

beforeAll(async () => {
  // Both services at once: each start costs seconds.
  const faults = Object.fromEntries(Object.entries(FAULTS).map(([name, { knobs }]) => [name, knobs]));
  const [first, second] = await Promise.allSettled([
    startAndRun({ SIM_FEEDS: JSON.stringify({ '*': FAST }) }),
    startAndRun({ SIM_FEEDS: JSON.stringify({ '*': FAST, ...faults }), PLATFORM_TIMEOUT_MS: String(PLATFORM_TIMEOUT_MS) }),
  ]);
  if (first.status === 'fulfilled') healthy = first.value;
  if (second.status === 'fulfilled') faulty = second.value;
  for (const outcome of [first, second]) if (outcome.status === 'rejected') throw outcome.reason;
  const response = await fetch(`${healthy!.service.url}/api/odds?limit=50`);
  expect(response.status).toBe(200);
  odds = (await response.json()) as OddsPage;
}, 150_000);

afterAll(async () => {
  for (const started of [healthy, faulty]) {
    await started?.service.stop('SIGTERM');
    await started?.db.drop();
  }
});

const pricesOf = (event: SportingEventOdds) =>
  event.markets.flatMap((market) => market.selections.flatMap((selection) => selection.prices.map((price) => ({ market: market.name, selection: selection.name, price }))));
const allPrices = () => odds.items.flatMap(pricesOf);
const ofPlatform = (platform: string): BookmakerPrice[] => allPrices().filter(({ price }) => price.platform === platform).map(({ price }) => price);

describe('the default start reads every kind', () => {
  it('scrapes all eleven simulated platforms, one of each kind at least', async () => {
    const { run, service } = healthy!;
    expect(run.status).toBe('completed');
    expect(run.steps.map((step) => step.platform).sort()).toEqual([...PLATFORMS].sort());
    for (const step of run.steps) {
      expect(step, step.platform).toMatchObject({ status: 'completed', reason: null, error: null });
      expect(step.eventsFound, step.platform).toBe(step.platform === 'oddsline' ? ODDS_API_EVENTS : EVENTS);
    }
    const platforms = (await (await fetch(`${service.url}/api/platforms`)).json()) as { items: PlatformInfo[] };
    expect(Object.fromEntries(platforms.items.map((platform) => [platform.name, platform.kind]))).toEqual(
      Object.fromEntries(Object.entries(SIMULATED_BOOKMAKERS).map(([name, platform]) => [name, platform.kind])),
    );
  });

  it("shows the odds API's prices under each of its bookmakers, scraped from platform oddsline", () => {
    const prices = ofPlatform('oddsline');
    expect(new Set(prices.map((price) => price.bookmaker))).toEqual(new Set(ODDS_API_BOOKMAKERS));
    // 5 sporting events x 3 bookmakers x (3 match result + 2 totals) selections.
    expect(prices).toHaveLength(ODDS_API_EVENTS * ODDS_API_BOOKMAKERS.length * 5);
    for (const price of prices) expect(price.priceText).toBe(String(price.price));
    // No other platform names an odds API bookmaker, and every other platform is its own bookmaker.
    const others = allPrices().filter(({ price }) => price.platform !== 'oddsline');
    expect(others.every(({ price }) => price.bookmaker === price.platform)).toBe(true);
    // The same selection is priced differently by the three bookmakers.
    const first = odds.items.find((event) => event.listings.some((listing) => listing.platform === 'oddsline'));
    const home = first!.markets.find((market) => market.name === 'match_result')!.selections.find((selection) => selection.name === 'home')!;
    const byBookmaker = home.prices.filter((price) => price.platform === 'oddsline').map((price) => price.price);
    expect(new Set(byBookmaker).size).toBeGreaterThan(1);
  });

  it("keeps quayside's fractional prices as written (6/4, Evs), stored as decimals", () => {
    const prices = ofPlatform('quayside');
    expect(prices).toHaveLength(EVENTS * 5);
    for (const price of prices) {
      const fraction = /^(\d+)\/(\d+)$/.exec(price.priceText);
      expect(fraction !== null || price.priceText === 'Evs', price.priceText).toBe(true);
      const decimal = fraction ? 1 + Number(fraction[1]) / Number(fraction[2]) : 2;
      expect(price.price, price.priceText).toBeCloseTo(decimal, 3);
    }
  });

  it("keeps oakridge's American prices as written (+140, -250), stored as decimals", () => {
    const prices = ofPlatform('oakridge');
    expect(prices).toHaveLength(EVENTS * 5);
    const signs = new Set<string>();
    for (const price of prices) {
      const american = /^([+-])(\d+)$/.exec(price.priceText);
      expect(american, price.priceText).not.toBeNull();
      signs.add(american![1]!);
      const value = Number(american![2]);
      expect(price.price, price.priceText).toBeCloseTo(american![1] === '+' ? 1 + value / 100 : 1 + 100 / value, 3);
    }
    expect(signs).toEqual(new Set(['+', '-']));
  });

  it('lists each sporting event once, matched across platforms of all five kinds', () => {
    expect(odds.nextCursor).toBeNull();
    expect(odds.items).toHaveLength(EVENTS);
    const kindOf = (platform: string) => SIMULATED_BOOKMAKERS[platform]!.kind;
    for (const event of odds.items) {
      const listed = event.listings.map((listing) => listing.platform);
      // One listing per platform: no platform's event was split off or listed twice.
      expect(new Set(listed).size, event.eventName).toBe(listed.length);
      // quayside numbers its fixtures from 9000 in the simulator's order; the odds API serves the first page only.
      const n = Number(event.listings.find((listing) => listing.platform === 'quayside')?.eventKey) - 9000;
      const expected = PLATFORMS.filter((platform) => platform !== 'oddsline' || n < ODDS_API_EVENTS);
      expect([...listed].sort(), event.eventName).toEqual([...expected].sort());
    }
    // The first sporting event (Arsenal at home) as each kind lists it, under one id.
    const arsenal = odds.items.find((event) => event.listings.some((listing) => listing.platform === 'quayside' && listing.eventKey === '9000'))!;
    expect(new Set(arsenal.listings.map((listing) => kindOf(listing.platform)))).toEqual(new Set(['feed', 'odds-api', 'json', 'html', 'browser']));
    expect(arsenal.listings.find((listing) => listing.platform === 'quayside')!.eventName).toMatch(/^Arsenal FC v /);
    // Every kind's prices side by side, under canonical markets and selections.
    expect(arsenal.markets.map((market) => market.name)).toEqual(['match_result', 'totals']);
    const selections = arsenal.markets.flatMap((market) => market.selections.map((selection) => `${market.name}/${selection.name}`));
    expect(selections).toEqual(['match_result/away', 'match_result/draw', 'match_result/home', 'totals/over 2.5', 'totals/under 2.5']);
    for (const selection of arsenal.markets.flatMap((market) => market.selections)) {
      const sources = selection.prices.map((price) => `${price.platform}/${price.bookmaker}`).sort();
      const expected = [...PLATFORMS.filter((platform) => platform !== 'oddsline').map((platform) => `${platform}/${platform}`), ...ODDS_API_BOOKMAKERS.map((key) => `oddsline/${key}`)].sort();
      expect(sources, selection.name).toEqual(expected);
      expect(selection.bestPrice).toBe(Math.max(...selection.prices.map((price) => price.price)));
    }
  });
});

describe('a fault in each kind, through the built service', () => {
  it("is the step's reason in GET /api/runs/{id}, the others completing", () => {
    const { run } = faulty!;
    expect(run.status).toBe('partial');
    const steps = Object.fromEntries(run.steps.map((step) => [step.platform, step]));
    for (const [platform, { reason }] of Object.entries(FAULTS)) {
      expect(steps[platform], JSON.stringify(steps[platform])).toMatchObject({ status: 'failed', reason });
      expect(steps[platform]!.error, platform).toBeTruthy();
    }
    expect(steps.oddsline!.error).toMatch(/quota/);
    expect(steps.quayside!.error).toBe(`timed out after ${PLATFORM_TIMEOUT_MS} ms`);
    for (const platform of PLATFORMS.filter((name) => !(name in FAULTS))) {
      expect(steps[platform], platform).toMatchObject({ status: 'completed', reason: null, eventsFound: EVENTS });
    }
    expect(new Set(run.failedPlatforms)).toEqual(new Set(Object.keys(FAULTS)));
  });

  it('labels oddswatch_platform_scrape_duration_seconds with the reason, and only failed scrapes have one', async () => {
    const name = 'oddswatch_platform_scrape_duration_seconds';
    const faultyMetrics = await MetricsSnapshot.scrape(`${faulty!.service.url}/metrics`);
    for (const [platform, { reason, outcome }] of Object.entries(FAULTS)) {
      expect(faultyMetrics.histogramCount(name, { platform, outcome, reason }), `${platform} ${reason}`).toBe(1);
      expect(faultyMetrics.histogramCount(name, { platform, outcome: 'completed' }), platform).toBe(0);
    }
    const withReason = faultyMetrics.samples(`${name}_count`).filter((sample) => sample.labels.reason !== undefined);
    expect(new Set(withReason.map((sample) => sample.labels.platform))).toEqual(new Set(Object.keys(FAULTS)));
    expect(faultyMetrics.text).toMatch(/oddswatch_platform_scrape_duration_seconds_bucket\{[^}]*platform="oddsline"[^}]*reason="quota_exhausted"/);

    const healthyMetrics = await MetricsSnapshot.scrape(`${healthy!.service.url}/metrics`);
    for (const platform of PLATFORMS) expect(healthyMetrics.histogramCount(name, { platform, outcome: 'completed' }), platform).toBe(1);
    expect(healthyMetrics.samples(`${name}_count`).filter((sample) => sample.labels.reason !== undefined)).toEqual([]);
  });
});
