import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlatformError, type PlatformAdapter, type QuotaReport, type ScrapedSelection } from '../../src/platforms/adapter.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { parsePlatformEntry } from '../../src/platforms/platformsFile.js';
import { SimulatedFeeds, type FeedKnobs } from '../../src/platforms/simulatedFeeds.js';
import { SIMULATED_ODDS_API_BOOKMAKERS, SIMULATED_QUOTA } from '../../src/platforms/simulator/oddsApiRoute.js';
import type { RejectedPriceReason, RunDetail, StepFailureReason } from '../../src/shared/contract.js';
import { tracer } from '../../src/telemetry/tracing.js';
import { captureSpans } from '../helpers/spans.js';

/**
 * The odds-api kind against The Odds API v4 as the simulator serves it (oddsline) and against tiny loopback
 * servers that answer the way the real API fails: selections per bookmaker, the quota from its headers,
 * each failure's reason, and the key (a query parameter) in no message and no span.
 */
const { exporter, provider } = captureSpans();
afterAll(() => provider.shutdown());

const BOOKMAKER_KEYS = SIMULATED_ODDS_API_BOOKMAKERS.map((bookmaker) => bookmaker.key);

interface Scraped {
  eventsFound: number;
  selections: ScrapedSelection[];
  quotas: QuotaReport[];
  rejected: RejectedPriceReason[];
  error?: PlatformError;
}

/** One scrape with an observer that keeps what it is told; a PlatformError is returned, anything else thrown. */
async function scrape(adapter: PlatformAdapter): Promise<Scraped> {
  const result: Scraped = { eventsFound: 0, selections: [], quotas: [], rejected: [] };
  const observer = { redirected() {}, rejectedPrice: (reason: RejectedPriceReason) => void result.rejected.push(reason), quota: (report: QuotaReport) => void result.quotas.push(report) };
  try {
    result.eventsFound = await tracer.startActiveSpan('test.scrape', async (span) => {
      try {
        return await adapter.scrape(AbortSignal.timeout(5_000), async (progress) => void result.selections.push(...progress.batch), observer);
      } finally {
        span.end();
      }
    });
  } catch (error) {
    if (!(error instanceof PlatformError)) throw error;
    result.error = error;
  }
  return result;
}

async function withSimulator(knobs: Partial<FeedKnobs>, test: (sim: SimulatedFeeds, adapter: PlatformAdapter) => Promise<void>): Promise<void> {
  const sim = new SimulatedFeeds({ '*': { latencyMs: 0 }, oddsline: knobs });
  await sim.start();
  try {
    await test(sim, createAdapter(parsePlatformEntry(sim.entryOf('oddsline'), 5_000, sim.env)));
  } finally {
    await sim.stop();
  }
}

interface Tiny {
  adapter: PlatformAdapter;
  key: string;
  requests: URL[];
  close(): Promise<void>;
}

/** A loopback server answering every request with `answer`, read by an odds-api entry (with `extra` keys). */
async function tinyOddsApi(answer: (response: http.ServerResponse) => void, extra: Record<string, unknown> = {}): Promise<Tiny> {
  const requests: URL[] = [];
  const server = http.createServer((request, response) => {
    requests.push(new URL(request.url ?? '/', 'http://127.0.0.1'));
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const key = `tiny-${crypto.randomUUID()}`;
  const entry = { name: 'tiny', kind: 'odds-api', baseUrl: `http://127.0.0.1:${port}/`, sport: 'soccer_epl', regions: 'uk', markets: 'h2h,totals', apiKey: { env: 'TINY_ODDS_KEY' }, ...extra };
  return {
    adapter: createAdapter(parsePlatformEntry(entry, 5_000, { TINY_ODDS_KEY: key })),
    key,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (response: http.ServerResponse) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
};

async function reasonOf(answer: (response: http.ServerResponse) => void): Promise<{ reason: StepFailureReason | undefined; scraped: Scraped }> {
  const tiny = await tinyOddsApi(answer);
  try {
    const scraped = await scrape(tiny.adapter);
    return { reason: scraped.error?.reason, scraped };
  } finally {
    await tiny.close();
  }
}

describe('the odds-api kind against the simulated odds API', () => {
  it('reads every bookmaker of every sporting event, with points in the totals, and reports the quota', async () => {
    await withSimulator({}, async (sim, adapter) => {
      expect(adapter.kind).toBe('odds-api');
      expect(adapter.baseUrl).toBe(`${String(sim.entryOf('oddsline').baseUrl)}`);
      expect(adapter.baseUrl).not.toContain('apiKey');
      const first = await scrape(adapter);
      expect(first.error).toBeUndefined();
      expect(first.eventsFound).toBe(24);
      expect(first.rejected).toEqual([]);
      // 24 sporting events x 3 bookmakers x (3 h2h + 2 totals) outcomes.
      expect(first.selections).toHaveLength(24 * 3 * 5);
      expect(new Set(first.selections.map((s) => s.bookmaker))).toEqual(new Set(BOOKMAKER_KEYS));

      const opening = first.selections.filter((s) => s.eventKey === first.selections[0]!.eventKey);
      const copperbet = opening.filter((s) => s.bookmaker === 'copperbet').map(({ market, selection }) => `${market}/${selection}`);
      expect(copperbet).toEqual(['h2h/Arsenal', `h2h/${opening[0]!.away}`, 'h2h/Draw', 'totals/Over 2.5', 'totals/Under 2.5']);
      expect(opening[0]).toMatchObject({ eventName: `Arsenal v ${opening[0]!.away}`, home: 'Arsenal', startsAt: new Date(sim.epoch + 24 * 3_600_000).toISOString() });
      expect(opening.every((s) => s.priceText === String(s.price))).toBe(true);
      // The same selection is priced differently by different bookmakers.
      const arsenal = opening.filter((s) => s.selection === 'Arsenal').map((s) => s.price);
      expect(new Set(arsenal).size).toBeGreaterThan(1);

      // Each request costs markets (2) x regions (1) credits.
      expect(first.quotas).toEqual([{ remaining: SIMULATED_QUOTA - 2, used: 2, last: 2 }]);
      const second = await scrape(adapter);
      expect(second.quotas).toEqual([{ remaining: SIMULATED_QUOTA - 4, used: 4, last: 2 }]);
    });
  });

  it('fails as quota_exhausted once the quota is used up, reporting the quota it was told', async () => {
    // 3 credits: the first request (2) is served, the second finds 1 left, less than it costs.
    await withSimulator({ quota: 3 }, async (sim, adapter) => {
      expect((await scrape(adapter)).error).toBeUndefined();
      const short = await scrape(adapter);
      expect(short.error?.reason).toBe('quota_exhausted');
      expect(short.error?.message).toBe("platform answered HTTP 401 on page 1: the API's usage quota is used up (1 credits remaining, 2 used)");
      expect(short.quotas).toEqual([{ remaining: 1, used: 2, last: 0 }]);
      sim.set('oddsline', { quota: 0 });
      const none = await scrape(adapter);
      expect(none.error?.reason).toBe('quota_exhausted');
      expect(none.quotas).toEqual([{ remaining: 0, used: 2, last: 0 }]);
      expect(none.selections).toEqual([]);
    });
  });

  it('fails as http_5xx when the API answers 503, still reporting the quota', async () => {
    await withSimulator({ failureRate: 1 }, async (_sim, adapter) => {
      const failed = await scrape(adapter);
      expect(failed.error?.reason).toBe('http_5xx');
      expect(failed.quotas).toEqual([{ remaining: SIMULATED_QUOTA, used: 0, last: 0 }]);
    });
  });

  it('fails as http_4xx, not as a used-up quota, when the key is refused', async () => {
    await withSimulator({}, async (sim) => {
      const wrong = `wrong-${crypto.randomUUID()}`;
      const adapter = createAdapter(parsePlatformEntry(sim.entryOf('oddsline'), 5_000, { SIMULATED_ODDS_API_KEY: wrong }));
      const refused = await scrape(adapter);
      expect(refused.error?.reason).toBe('http_4xx');
      expect(refused.error?.message).toBe('platform answered HTTP 401 on page 1: the API key was refused (INVALID_KEY)');
      expect(refused.quotas).toEqual([]);
    });
  });
});

describe('the odds-api kind against loopback servers answering as the real API does', () => {
  it('asks for decimal prices and ISO dates of the entry sport, regions, markets and bookmakers, with the key', async () => {
    const tiny = await tinyOddsApi(json(200, []), { bookmakers: 'williamhill,betfair_ex_uk' });
    try {
      const scraped = await scrape(tiny.adapter);
      expect(scraped.error).toBeUndefined();
      expect(scraped.eventsFound).toBe(0);
      const [request] = tiny.requests;
      expect(request!.pathname).toBe('/v4/sports/soccer_epl/odds');
      expect(Object.fromEntries(request!.searchParams)).toEqual({
        regions: 'uk',
        markets: 'h2h,totals',
        bookmakers: 'williamhill,betfair_ex_uk',
        oddsFormat: 'decimal',
        dateFormat: 'iso',
        apiKey: tiny.key,
      });
    } finally {
      await tiny.close();
    }
  });

  it('fails as rate_limited on 429, reporting the quota of the answer', async () => {
    const { reason, scraped } = await reasonOf(json(429, { message: 'Too many requests', error_code: 'EXCEEDED_FREQ_LIMIT' }, { 'x-requests-remaining': '480', 'x-requests-used': '20' }));
    expect(reason).toBe('rate_limited');
    expect(scraped.quotas).toEqual([{ remaining: 480, used: 20 }]);
  });

  it('fails as quota_exhausted on a 401 with no credit left, even without the error code', async () => {
    const { reason } = await reasonOf((response) => {
      response.writeHead(401, { 'x-requests-remaining': '0', 'x-requests-used': '500' });
      response.end();
    });
    expect(reason).toBe('quota_exhausted');
  });

  it('fails as parse when the body is not the v4 shape, naming where and never the value', async () => {
    const notArray = await reasonOf(json(200, { data: [] }));
    expect(notArray.reason).toBe('parse');
    expect(notArray.scraped.error?.message).toMatch(/^page 1 is malformed: page /);

    const marker = 'MARKER\u0000value';
    const badName = await reasonOf(json(200, [{ id: 'e1', commence_time: '2030-01-01T12:00:00Z', home_team: marker, away_team: 'B', bookmakers: [] }]));
    expect(badName.reason).toBe('parse');
    expect(badName.scraped.error?.message).toBe('page 1 is malformed: [0].home_team holds a control character or broken Unicode');

    const noTime = await reasonOf(json(200, [{ id: 'e1', home_team: 'A', away_team: 'B', bookmakers: [] }]));
    expect(noTime.scraped.error?.message).toMatch(/^page 1 is malformed: \[0\]\.commence_time /);

    const junk = await reasonOf((response) => response.end('{not json'));
    expect(junk.reason).toBe('parse');
  });

  it('drops a bookmaker whose key it cannot record, and a price that is no price, keeping the rest', async () => {
    const outcomes = [{ name: 'A', price: 2.1 }, { name: 'B', price: 3.4 }];
    const { scraped } = await reasonOf(json(200, [
      {
        id: 'e1',
        commence_time: '2030-01-01T12:00:00Z',
        home_team: 'A',
        away_team: 'B',
        bookmakers: [
          { key: 'Bad Key; drop', title: 'x', markets: [{ key: 'h2h', outcomes }] },
          { key: 'goodbook', title: 'Good', markets: [{ key: 'h2h', outcomes: [...outcomes, { name: 'Draw', price: 1 }] }, { key: 'spreads', outcomes: [{ name: 'A', price: 1.9, point: -1.5 }, { name: 'B', price: 1.95, point: 1.5 }] }] },
        ],
      },
    ]));
    expect(scraped.error).toBeUndefined();
    expect(scraped.selections.map((s) => `${s.bookmaker}:${s.market}/${s.selection}`)).toEqual(['goodbook:h2h/A', 'goodbook:h2h/B', 'goodbook:spreads/A -1.5', 'goodbook:spreads/B +1.5']);
    expect(scraped.rejected).toEqual(['not_above_one']);
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'test.scrape' && s.events.some((event) => event.name === 'odds_api.bookmakers_refused'));
    expect(span!.events.find((event) => event.name === 'odds_api.bookmakers_refused')!.attributes).toEqual({ bookmakers: 1, prices: 2 });
    expect(JSON.stringify(span!.events)).not.toContain('Bad Key');
  });
});

describe('the odds-api key', () => {
  it('appears in no error message and no span, whatever the failure; the client spans carry it masked', async () => {
    const before = new Set(exporter.getFinishedSpans());
    const errors: { key: string; error: PlatformError | undefined }[] = [];
    for (const knobs of [{ quota: 0 }, { failureRate: 1 }, {}]) {
      await withSimulator(knobs, async (sim, adapter) => {
        errors.push({ key: sim.env.SIMULATED_ODDS_API_KEY!, error: (await scrape(adapter)).error });
        const wrong = createAdapter(parsePlatformEntry(sim.entryOf('oddsline'), 5_000, { SIMULATED_ODDS_API_KEY: `${sim.env.SIMULATED_ODDS_API_KEY!}-old` }));
        errors.push({ key: `${sim.env.SIMULATED_ODDS_API_KEY!}-old`, error: (await scrape(wrong)).error });
      });
    }
    for (const answer of [json(429, {}), json(200, { data: [] }), (response: http.ServerResponse) => response.socket?.destroy()]) {
      const tiny = await tinyOddsApi(answer);
      try {
        errors.push({ key: tiny.key, error: (await scrape(tiny.adapter)).error });
      } finally {
        await tiny.close();
      }
    }
    expect(errors.map(({ error }) => error?.reason)).toEqual(['quota_exhausted', 'http_4xx', 'http_5xx', 'http_4xx', undefined, 'http_4xx', 'rate_limited', 'parse', 'network']);

    const spans = exporter.getFinishedSpans().filter((span) => !before.has(span));
    const clientSpans = spans.filter((span) => String(span.attributes['url.full'] ?? '').includes('/v4/sports/'));
    expect(clientSpans).toHaveLength(errors.length);
    expect(clientSpans.every((span) => String(span.attributes['url.full']).includes('apiKey=***'))).toBe(true);
    const spanText = JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status })));
    for (const { key, error } of errors) {
      expect(spanText.includes(key), 'a key in a span').toBe(false);
      expect(error?.message.includes(key) ?? false, 'a key in an error message').toBe(false);
      expect(error?.stack?.includes(key) ?? false, 'a key in an error stack').toBe(false);
    }
  });
});

describe('the odds-api kind in the service', () => {
  it('reports the quota on /metrics and keeps the key out of /metrics, the API and the logs, on success and on quota failure', async () => {
    // PLATFORMS_FILE with the simulated odds API alone, its key in the service's environment as an operator sets it.
    const sim = new SimulatedFeeds({ '*': { latencyMs: 0, eventsPerPage: 5 } });
    await sim.start();
    const key = sim.env.SIMULATED_ODDS_API_KEY!;
    const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-odds-api-'));
    writeFileSync(path.join(dir, 'platforms.json'), JSON.stringify([sim.entryOf('oddsline')]));
    process.env.SIMULATED_ODDS_API_KEY = key;
    const { startTestServer } = await import('../helpers/testServer.js');
    const server = await startTestServer({ PLATFORMS_FILE: path.join(dir, 'platforms.json') });
    try {
      const runOf = async () => {
        const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['oddsline'] } })).json()) as RunDetail;
        return server.waitForRun(created.id, ['completed', 'partial', 'failed']);
      };
      const ok = await runOf();
      expect(ok.status).toBe('completed');
      expect(ok.steps[0]).toMatchObject({ platform: 'oddsline', status: 'completed', eventsFound: 5 });
      const metrics = async () => (await (await server.api('/metrics')).text());
      expect(await metrics()).toMatch(new RegExp(`oddswatch_platform_quota_remaining\\{[^}]*platform="oddsline"[^}]*\\} ${SIMULATED_QUOTA - 2}\\b`));

      sim.set('oddsline', { quota: 0 });
      const failed = await runOf();
      expect(failed.steps[0]).toMatchObject({ platform: 'oddsline', status: 'failed', reason: 'quota_exhausted' });
      const exposition = await metrics();
      expect(exposition).toMatch(/oddswatch_platform_quota_remaining\{[^}]*platform="oddsline"[^}]*\} 0\b/);

      const platforms = await (await server.api('/api/platforms')).text();
      expect(platforms).toContain(`/odds-api/oddsline`);
      const places = { metrics: exposition, 'GET /api/platforms': platforms, runs: JSON.stringify([ok, failed]), logs: JSON.stringify(server.logs) };
      for (const [where, text] of Object.entries(places)) expect(text.includes(key), `the key in ${where}`).toBe(false);
    } finally {
      await server.close();
      await sim.stop();
      delete process.env.SIMULATED_ODDS_API_KEY;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
