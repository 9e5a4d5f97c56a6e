import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { OddsPage, PlatformInfo, PlatformQuality, RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { scrapeEverySecond, waitFor, type PrometheusServer } from './prometheus-harness.js';
import { readYaml, repoPath } from './repo.js';

/**
 * The data-quality checks end to end: the real service (real PostgreSQL, the simulated platforms at their
 * defaults, SCRAPE_INTERVAL_SECONDS at its minimum of 10 so that prices go stale after 30 s) scraped every
 * second by a real Prometheus that loads the shipped quality rules with their durations shortened (30m
 * window -> 30s, each `for` -> 5s) and the shipped oddswatch rules (the platforms' freshness and stale
 * threshold) as they are. Normal scrapes flag nothing; fractional prices misread flag the step, count by
 * reason and fire OddswatchImplausibleMarkets; a bookmaker the odds API stops carrying fires
 * OddswatchStalePrices while its platform stays fresh.
 */

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
}

const QUALITY_ALERTS = ['OddswatchStalePrices', 'OddswatchBookmakerFrozen', 'OddswatchCoverageDrop', 'OddswatchImplausibleMarkets'];

let server: TestServer;
let prometheus: PrometheusServer;
let dir: string;

beforeAll(async () => {
  const shipped = readYaml<{ groups: { name: string; rules: Rule[] }[] }>('grafana/alerts/quality.rules.yml');
  const short = parse(stringify(shipped)) as typeof shipped;
  const rules = short.groups.flatMap((group) => group.rules);
  for (const rule of rules) {
    rule.expr = rule.expr.replaceAll('[30m]', '[30s]').replaceAll('[15m]', '[30s]');
    if (rule.for !== undefined) rule.for = '5s';
  }
  expect(rules.map((rule) => rule.alert ?? rule.record)).toEqual(['oddswatch:bookmaker_price:age_seconds', ...QUALITY_ALERTS]);
  dir = mkdtempSync(join(tmpdir(), 'oddswatch-quality-rules-'));
  writeFileSync(join(dir, 'quality.rules.yml'), stringify(short));

  server = await startTestServer({ SCRAPE_INTERVAL_SECONDS: '10' });
  prometheus = await scrapeEverySecond(server.port, [join(dir, 'quality.rules.yml'), repoPath('grafana/alerts/oddswatch.rules.yml')], 'oddswatch_platform_markets_checked_total{platform="redfox"}');
}, 120_000);
afterAll(async () => {
  await prometheus?.stop();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A run of these platforms to its end, and to the checks judged right after it (each completed step's coverage written). */
async function judgedRun(platforms: string[]): Promise<RunDetail> {
  const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms } })).json()) as RunDetail;
  await server.waitForRun(created.id, ['completed', 'partial'], 30_000);
  return waitFor(
    async () => {
      const detail = (await (await server.api(`/api/runs/${created.id}`)).json()) as RunDetail;
      return detail.steps.every((step) => step.status !== 'completed' || step.coverageDrops !== null) ? detail : undefined;
    },
    { timeoutMs: 10_000, what: `the checks judged after run ${created.id}` },
  );
}

async function scrapeRedfox(): Promise<RunDetail> {
  const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
  return server.waitForRun(created.id, ['completed']);
}

/** The platform's data quality at a glance, as GET /api/platforms answers it. */
async function platformQuality(platform: string): Promise<PlatformQuality> {
  const { items } = (await (await server.api('/api/platforms')).json()) as { items: PlatformInfo[] };
  return items.find((item) => item.name === platform)!.quality!;
}

const metric = async (name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((match) => [match[1]!, Number(match[2])]));
};

describe('data quality, from the step to a firing alert', () => {
  it('flags nothing in 20 normal runs of every platform, browser ones included, prices drifting', async () => {
    const platforms = server.platforms.names;
    expect(platforms.filter((name) => server.platforms.simulated!.knobs.get(name)?.kind === 'browser').length).toBeGreaterThanOrEqual(2);
    let events = 0;
    let flagged = 0;
    const flags: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      const run = await judgedRun(platforms);
      expect(run.status).toBe('completed');
      for (const step of run.steps) {
        const counts = { implausibleMarkets: step.implausibleMarkets ?? 0, frozenBookmakers: step.frozenBookmakers?.length ?? 0, coverageDrops: step.coverageDrops?.length ?? 0, outlierPrices: step.outlierPrices ?? 0 };
        const stepFlags = Object.values(counts).reduce((sum, count) => sum + count, 0);
        flagged += stepFlags;
        if (stepFlags > 0) flags.push(`run ${index + 1} ${step.platform} (${step.eventsFound} sporting events): ${JSON.stringify({ ...counts, frozen: step.frozenBookmakers, drops: step.coverageDrops })}`);
      }
      events += run.steps.find((step) => step.platform === 'redfox')!.eventsFound;
    }
    expect(flagged, flags.join('\n')).toBe(0);
    const frozen = await metric('oddswatch_bookmaker_frozen');
    expect(Object.keys(frozen).length).toBeGreaterThanOrEqual(platforms.length);
    expect(Object.values(frozen).every((value) => value === 0)).toBe(true);
    const outliers = await metric('oddswatch_platform_outlier_prices_total');
    expect(Object.values(outliers).every((value) => value === 0)).toBe(true);
    console.log(`20 normal runs of ${platforms.length} platforms: ${flagged} implausible markets, frozen bookmakers, coverage drops or outlier prices flagged`);
    // Each sporting event: a match result and over/under 2.5, both complete.
    const checked = await metric('oddswatch_platform_markets_checked_total');
    expect(events).toBeGreaterThan(0);
    expect(checked['platform="redfox"']).toBe(events * 2);
    const implausible = await metric('oddswatch_platform_implausible_markets_total');
    expect(Object.entries(implausible).filter(([labels]) => labels.includes('"redfox"')).map(([, value]) => value)).toEqual([0, 0, 0]);
    // The Platforms page's glance says the same: every platform checked, nothing flagged, no bookmaker stale.
    const { items } = (await (await server.api('/api/platforms')).json()) as { items: PlatformInfo[] };
    expect(items.map((item) => item.name).sort()).toEqual([...platforms].sort());
    for (const { name, quality } of items) {
      expect(quality, name).toMatchObject({ implausibleMarkets: 0, outlierPrices: 0, coverageDrops: [] });
      expect(quality!.marketsChecked, name).toBeGreaterThan(0);
      expect(quality!.bookmakers.length, name).toBeGreaterThan(0);
      expect(quality!.bookmakers.filter((bookmaker) => bookmaker.frozen || bookmaker.stale), name).toEqual([]);
    }
    const qualityAlerts = (await prometheus.alerts()).filter((candidate) => QUALITY_ALERTS.includes(candidate.labels.alertname!));
    expect(qualityAlerts).toEqual([]);
  }, 300_000);

  it('marks a platform\'s swapped home and away prices as outliers on GET /api/odds, and counts them', async () => {
    // Every HTTP platform priced as usual (the consensus), then luckyowl with its columns swapped.
    const platforms = server.platforms.names.filter((name) => server.platforms.simulated!.knobs.get(name)?.kind !== 'browser');
    const usual = (await (await server.api('/api/runs', { method: 'POST', json: { platforms } })).json()) as RunDetail;
    await server.waitForRun(usual.id, ['completed'], 30_000);
    server.platforms.simulated!.set('luckyowl', { swapPrices: true });
    const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['luckyowl'] } })).json()) as RunDetail;
    await server.waitForRun(created.id, ['completed']);
    server.platforms.simulated!.set('luckyowl', { swapPrices: false });
    const page = (await (await server.api('/api/odds?limit=50')).json()) as OddsPage;
    expect(page.outlierThreshold).toBe(0.25);
    const prices = page.items.flatMap((event) => event.markets.flatMap((market) => market.selections.flatMap((selection) => selection.prices.map((price) => ({ market: market.name, selection: selection.name, ...price })))));
    const flagged = prices.filter((price) => price.outlier);
    // Every flagged price is luckyowl's home or away, and each lies over 25% from its consensus.
    expect(flagged.length).toBeGreaterThan(0);
    for (const price of flagged) {
      expect(price).toMatchObject({ platform: 'luckyowl', market: 'match_result', selection: expect.stringMatching(/^(home|away)$/) });
      expect(Math.abs(price.price / price.consensus! - 1)).toBeGreaterThan(0.25);
    }
    // luckyowl's draw and totals are not swapped: never flagged.
    expect(prices.filter((price) => price.platform === 'luckyowl' && !/^(home|away)$/.test(price.selection)).some((price) => price.outlier)).toBe(false);
    // Counted right after the run, once its status is written.
    const counted = await waitFor(async () => {
      const values = await metric('oddswatch_platform_outlier_prices_total');
      return (values['platform="luckyowl"'] ?? 0) > 0 ? values : undefined;
    }, { timeoutMs: 10_000, what: 'luckyowl\'s outlier prices counted' });
    expect(Object.entries(counted).filter(([labels]) => labels !== 'platform="luckyowl"').every(([, value]) => value === 0)).toBe(true);
    // Written on the step right after the run, and shown in the platform's quality at a glance.
    const step = await waitFor(async () => {
      const detail = (await (await server.api(`/api/runs/${created.id}`)).json()) as RunDetail;
      return detail.steps[0]!.outlierPrices !== null ? detail.steps[0]! : undefined;
    }, { timeoutMs: 10_000, what: 'luckyowl\'s outlier prices on its step' });
    expect(step.outlierPrices).toBe(counted['platform="luckyowl"']);
    expect((await platformQuality('luckyowl')).outlierPrices).toBe(step.outlierPrices);
  }, 60_000);

  it('flags the step, counts by reason and fires OddswatchImplausibleMarkets once fractional prices are misread', async () => {
    server.platforms.simulated!.set('redfox', { fractionalMisread: true });
    const started = Date.now();
    const bad = [await scrapeRedfox(), await scrapeRedfox()];
    for (const run of bad) {
      const step = run.steps[0]!;
      // All but a market whose misread prices happen to add up.
      expect(step.implausibleMarkets).toBeGreaterThan(step.eventsFound * 2 * 0.75);
      expect(step.implausibleExamples).toHaveLength(5);
      expect(step.implausibleExamples[0]).toMatchObject({ bookmaker: 'redfox', reason: expect.stringMatching(/^overround_/) });
      const { prices, overround } = step.implausibleExamples[0]!;
      expect(overround).toBeCloseTo(Object.values(prices).reduce((sum, price) => sum + 1 / price, 0), 3);
    }
    const implausible = await metric('oddswatch_platform_implausible_markets_total');
    expect(implausible['platform="redfox",reason="overround_below_one"']).toBeGreaterThan(0);

    const alert = await waitFor(
      async () => (await prometheus.alerts()).find((candidate) => candidate.labels.alertname === 'OddswatchImplausibleMarkets' && candidate.state === 'firing'),
      { timeoutMs: 30_000, what: `OddswatchImplausibleMarkets to fire (Prometheus log: ${prometheus.logs().slice(-500)})` },
    );
    expect(alert.labels).toMatchObject({ severity: 'ticket', job: 'oddswatch', platform: 'redfox' });
    expect(alert.annotations.description).toMatch(/of the markets platform redfox priced/);
    expect(alert.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchimplausiblemarkets$/);
    const others = (await prometheus.alerts()).filter((candidate) => candidate.labels.alertname === 'OddswatchImplausibleMarkets' && candidate.labels.platform !== 'redfox');
    expect(others).toEqual([]);
    console.log(`OddswatchImplausibleMarkets firing ${((Date.now() - started) / 1000).toFixed(1)} s after the first misread scrape started (for shortened to 5 s)`);
  }, 120_000);

  it('fires OddswatchStalePrices for a bookmaker the odds API stops carrying, its platform fresh', async () => {
    const scrapeOddsline = async () => {
      const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['oddsline'] } })).json()) as RunDetail;
      return server.waitForRun(created.id, ['completed']);
    };
    await scrapeOddsline();
    server.platforms.simulated!.set('oddsline', { withoutBookmakers: ['tideway'] });
    const dropped = Date.now();
    // The platform keeps succeeding (fresh) while tideway's newest price ages past 3 intervals (30 s).
    const alert = await waitFor(
      async () => {
        await scrapeOddsline();
        return (await prometheus.alerts()).find((candidate) => candidate.labels.alertname === 'OddswatchStalePrices' && candidate.state === 'firing');
      },
      { timeoutMs: 90_000, what: `OddswatchStalePrices to fire (Prometheus log: ${prometheus.logs().slice(-500)})` },
    );
    expect(alert.labels).toMatchObject({ severity: 'ticket', job: 'oddswatch', platform: 'oddsline', bookmaker: 'tideway' });
    expect(alert.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchstaleprices$/);
    // The Platforms page's glance: tideway stale (listed first, its newest price the oldest), the others not.
    const glance = await platformQuality('oddsline');
    expect(glance.bookmakers[0]).toMatchObject({ bookmaker: 'tideway', stale: true });
    expect(Date.parse(glance.bookmakers[0]!.lastPriceAt)).toBeLessThanOrEqual(dropped);
    expect(glance.bookmakers.filter((bookmaker) => bookmaker.stale).map((bookmaker) => bookmaker.bookmaker)).toEqual(['tideway']);
    const seconds = (Date.now() - dropped) / 1000;
    expect(seconds).toBeGreaterThan(30);
    // Only tideway: the bookmakers still carried, and every other platform, are fresh or scraped too rarely here to be judged apart.
    const stale = (await prometheus.alerts()).filter((candidate) => candidate.labels.alertname === 'OddswatchStalePrices' && candidate.labels.platform === 'oddsline');
    expect(stale.map((candidate) => candidate.labels.bookmaker)).toEqual(['tideway']);
    const age = await prometheus.query('oddswatch:bookmaker_price:age_seconds{platform="oddsline",bookmaker="copperbet"}');
    expect(Number(age.data!.result[0]!.value![1])).toBeLessThan(30);
    console.log(`OddswatchStalePrices firing ${seconds.toFixed(1)} s after the API stopped carrying tideway (stale after 30 s, for shortened to 5 s)`);
  }, 150_000);

  it('flags a bookmaker whose prices stop moving while the others move, and fires OddswatchBookmakerFrozen', async () => {
    const platforms = server.platforms.names.filter((name) => server.platforms.simulated!.knobs.get(name)?.kind !== 'browser');
    server.platforms.simulated!.set('bluepeak', { priceDrift: 0 });
    const started = Date.now();
    let last: RunDetail | undefined;
    // QUALITY_FROZEN_SCRAPES (6) scrapes in a row without a change, the first of them against drifted prices.
    for (let index = 0; index < 7; index += 1) {
      last = await judgedRun(platforms);
    }
    const steps = new Map(last!.steps.map((step) => [step.platform, step]));
    expect(steps.get('bluepeak')!.frozenBookmakers).toEqual(['bluepeak']);
    for (const platform of platforms.filter((name) => name !== 'bluepeak')) expect(steps.get(platform)!.frozenBookmakers, platform).toEqual([]);
    const page = (await (await server.api('/api/odds?limit=1')).json()) as OddsPage;
    expect(page.frozenBookmakers).toEqual([{ platform: 'bluepeak', bookmaker: 'bluepeak' }]);
    expect((await platformQuality('bluepeak')).bookmakers).toMatchObject([{ bookmaker: 'bluepeak', frozen: true }]);
    expect((await platformQuality('redfox')).bookmakers.some((bookmaker) => bookmaker.frozen)).toBe(false);

    const alert = await waitFor(
      async () => (await prometheus.alerts()).find((candidate) => candidate.labels.alertname === 'OddswatchBookmakerFrozen' && candidate.state === 'firing'),
      { timeoutMs: 30_000, what: `OddswatchBookmakerFrozen to fire (Prometheus log: ${prometheus.logs().slice(-500)})` },
    );
    expect(alert.labels).toMatchObject({ severity: 'ticket', job: 'oddswatch', platform: 'bluepeak', bookmaker: 'bluepeak' });
    expect(alert.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchbookmakerfrozen$/);
    const others = (await prometheus.alerts()).filter((candidate) => candidate.labels.alertname === 'OddswatchBookmakerFrozen' && candidate.labels.platform !== 'bluepeak');
    expect(others).toEqual([]);
    console.log(`OddswatchBookmakerFrozen firing ${((Date.now() - started) / 1000).toFixed(1)} s after bluepeak's prices stopped moving (7 runs; for shortened to 5 s)`);
  }, 180_000);

  it('flags a bookmaker that stops covering part of what the others list, and fires OddswatchCoverageDrop', async () => {
    const platforms = server.platforms.names.filter((name) => server.platforms.simulated!.knobs.get(name)?.kind !== 'browser');
    // Its usual: 3 runs at least (the previous tests' runs count too when the whole file runs).
    for (let index = 0; index < 3; index += 1) await judgedRun(platforms);
    // 60% of its sporting events: no volume drop (under 50% is one), a coverage drop (under 80% of its usual).
    server.platforms.simulated!.set('harborline', { eventsFraction: 0.6 });
    const started = Date.now();
    const thin: RunDetail[] = [];
    for (let index = 0; index < 2; index += 1) {
      thin.push(await judgedRun(platforms));
    }
    for (const run of thin) {
      const steps = new Map(run.steps.map((step) => [step.platform, step]));
      expect(steps.get('harborline')).toMatchObject({ coverageDrops: ['harborline'], volumeDrop: false });
      for (const platform of platforms.filter((name) => name !== 'harborline')) expect(steps.get(platform)!.coverageDrops, platform).toEqual([]);
    }
    const alert = await waitFor(
      async () => (await prometheus.alerts()).find((candidate) => candidate.labels.alertname === 'OddswatchCoverageDrop' && candidate.state === 'firing'),
      { timeoutMs: 30_000, what: `OddswatchCoverageDrop to fire (Prometheus log: ${prometheus.logs().slice(-500)})` },
    );
    expect(alert.labels).toMatchObject({ severity: 'ticket', job: 'oddswatch', platform: 'harborline' });
    expect(alert.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchcoveragedrop$/);
    expect((await platformQuality('harborline')).coverageDrops).toEqual(['harborline']);
    const coverage = await prometheus.query('oddswatch_bookmaker_coverage_ratio{platform="harborline"}');
    expect(Number(coverage.data!.result[0]!.value![1])).toBeLessThan(0.8);
    console.log(`OddswatchCoverageDrop firing ${((Date.now() - started) / 1000).toFixed(1)} s after harborline dropped 40% of its sporting events (for shortened to 5 s)`);
  }, 180_000);
});
