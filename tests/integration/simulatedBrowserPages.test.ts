import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IGNORE_OBSERVATIONS, PlatformError, type ScrapedSelection } from '../../src/platforms/adapter.js';
import { BrowserPool } from '../../src/platforms/browser/browserPool.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { parsePlatformEntry } from '../../src/platforms/platformsFile.js';
import { SIMULATED_BOOKMAKERS, SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import { platformFailure } from '../helpers/platformFailure.js';

/**
 * The simulator's single-page bookmakers read in real Chromium through their own entries (as the default
 * start reads them): kestrel by capture, nightjar from the rendered DOM after its cookie banner; and the
 * knobs of the kind (a redesign, a block page, a page that never loads) failing with their reasons.
 */

let sim: SimulatedFeeds;
let browsers: BrowserPool;
beforeAll(async () => {
  sim = new SimulatedFeeds({ '*': { latencyMs: 20, priceDrift: 0 } });
  await sim.start();
  browsers = new BrowserPool({ executablePath: undefined, maxPages: 4, recyclePages: 100, maxMemoryBytes: 4 * 1024 ** 3, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await browsers?.close();
  await sim?.stop();
});
beforeEach(() => {
  for (const name of ['kestrel', 'nightjar']) sim.set(name, { ...SIMULATED_BOOKMAKERS[name], latencyMs: 20, priceDrift: 0, layoutChanged: false, blockPage: false, neverLoads: false });
});

interface Scrape {
  eventsFound: number;
  selections: ScrapedSelection[];
  pages: number;
}

/** `overrides`: keys of the simulator's entry a test turns to make a fault happen sooner. */
async function scrape(name: string, timeoutMs = 20_000, overrides: Record<string, unknown> = {}): Promise<Scrape> {
  const adapter = createAdapter(parsePlatformEntry({ ...sim.entryOf(name), ...overrides }, timeoutMs, sim.env), browsers);
  const selections: ScrapedSelection[] = [];
  let pages = 0;
  const eventsFound = await adapter.scrape(AbortSignal.timeout(timeoutMs), async (progress) => {
    pages += 1;
    selections.push(...progress.batch);
  }, IGNORE_OBSERVATIONS);
  return { eventsFound, selections, pages };
}

const failure = (name: string, timeoutMs?: number, overrides?: Record<string, unknown>): Promise<PlatformError> => platformFailure(scrape(name, timeoutMs, overrides));

const eventsOf = (name: string) => SIMULATED_BOOKMAKERS[name]!.pages * SIMULATED_BOOKMAKERS[name]!.eventsPerPage;

describe('simulated single-page bookmakers in Chromium', () => {
  it('kestrel (capture): every page its script fetches, one after another, mapped by its select', async () => {
    const result = await scrape('kestrel');
    expect(result.eventsFound).toBe(eventsOf('kestrel'));
    expect(result.pages).toBe(SIMULATED_BOOKMAKERS.kestrel!.pages);
    expect(new Set(result.selections.map((selection) => selection.eventKey)).size).toBe(eventsOf('kestrel'));
    // Five selections per sporting event: the match result and total goals 2.5.
    expect(result.selections).toHaveLength(eventsOf('kestrel') * 5);
    const first = result.selections.find((selection) => selection.eventKey === 'k-0' && selection.selection === 'home');
    expect(first).toMatchObject({ market: 'match_result', home: 'Arsenal' });
    expect(first?.price).toBeGreaterThan(1);
    expect(sim.requests('kestrel')).toBeGreaterThanOrEqual(SIMULATED_BOOKMAKERS.kestrel!.pages);
  });

  it('kestrel: pages slower than the quiet window are all read (the read waits while a matching request is in flight)', async () => {
    sim.set('kestrel', { latencyMs: 900 });
    const result = await scrape('kestrel');
    expect(result.eventsFound).toBe(eventsOf('kestrel'));
  });

  it('nightjar (dom): the cookie banner clicked away, every rendered card read', async () => {
    const result = await scrape('nightjar');
    expect(result.eventsFound).toBe(eventsOf('nightjar'));
    expect(new Set(result.selections.map((selection) => selection.eventKey)).size).toBe(eventsOf('nightjar'));
    expect(result.selections).toHaveLength(eventsOf('nightjar') * 5);
    expect(result.selections.find((selection) => selection.eventKey === 'n-0' && selection.selection === 'draw')).toMatchObject({ market: 'match_result', home: 'Arsenal' });
  });

  it('the same sporting events: kestrel\'s and nightjar\'s event 3 start at the same time', async () => {
    const kestrel = await scrape('kestrel');
    const nightjar = await scrape('nightjar');
    const kickoff = (selections: ScrapedSelection[], id: string) => selections.find((selection) => selection.eventKey === id)?.startsAt;
    expect(kickoff(kestrel.selections, 'k-3')).toEqual(kickoff(nightjar.selections, 'n-3'));
    expect(kickoff(kestrel.selections, 'k-3')).toBeDefined();
  });

  it.each(['kestrel', 'nightjar'])('%s redesigned (layoutChanged): fails layout with the page captured', async (name) => {
    sim.set(name, { layoutChanged: true });
    const started = performance.now();
    const error = await failure(name, undefined, { waitTimeoutMs: 3_000 });
    expect(error.reason).toBe('layout');
    expect(performance.now() - started).toBeLessThan(8_000); // waitTimeoutMs and the capture
    expect(error.capture?.html).toContain(name === 'kestrel' ? 'match-tile' : 'fixtures-grid');
    expect(error.capture?.screenshot?.subarray(1, 4).toString()).toBe('PNG');
  });

  it.each(['kestrel', 'nightjar'])('%s behind a block page: fails blocked', async (name) => {
    sim.set(name, { blockPage: true });
    const error = await failure(name);
    expect(error.reason).toBe('blocked');
    expect(error.capture?.html).toContain('Just a moment');
  });

  it('a page that never finishes loading: fails timeout within the platform timeout', async () => {
    sim.set('kestrel', { neverLoads: true });
    const started = performance.now();
    await expect(scrape('kestrel', 3_000)).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(6_000);
  });

  it('an API that answers 503: kestrel fails http_5xx', async () => {
    sim.set('kestrel', { failureRate: 1 });
    expect((await failure('kestrel')).reason).toBe('http_5xx');
  });

  it('a page that never loads does not hold up another platform blocked on the same browser', async () => {
    sim.set('kestrel', { neverLoads: true });
    sim.set('nightjar', { blockPage: true });
    const started = performance.now();
    const hung = scrape('kestrel', 6_000).then(() => 'completed', () => 'failed');
    const blocked = await failure('nightjar', 6_000);
    expect(blocked.reason).toBe('blocked');
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(await hung).toBe('failed');
  });
});
