/**
 * What reading a platform's response costs, per kind, and what an aggregator's 2 MB response costs from
 * request to stored rows. Usage: npm run bench:mapping (BENCH_ROUNDS, default 30; BENCH_DATABASE_URL or
 * TEST_DATABASE_URL, default the local PostgreSQL; BENCH_PROFILE=1 profiles part 2 even within its goal).
 *
 * 1. Parse + map, per 1,000 selections, for every kind at ~1,000 and ~10,000 selections in one response.
 *    The bodies are the simulator's own (its routes, its entries), fetched from it once and then served
 *    pre-built by a loopback node:http server (no latency, nothing generated per request), so every arm
 *    reads the same bytes. Arms, alternated in one process, medians:
 *     - fetch: the same request through createPlatformHttp, the body read and decoded, nothing parsed;
 *     - by hand: that fetch, JSON.parse and a loop producing the same selections (prices converted by
 *       hand, nothing validated); for html the same parser (cheerio) with the entry's selectors written
 *       by hand, so the ratio is the cost of the generic, validated mapping and not of parsing HTML;
 *     - adapter: adapter.scrape from its entry, end to end (it reads through createPlatformHttp too);
 *     - json only: the fetch, JSON.parse and the JSONata select alone (its items not validated);
 *     - html only: a regular expression extractor on the text (no DOM), and cheerio's load alone.
 *    Ratios against "by hand", end to end and for the mapping alone (arm minus fetch). The adapter's
 *    selections must equal the hand-written ones, or the bench fails.
 * 2. An odds-api response of ~2 MB (the simulator's shape, h2h + totals, 3 bookmakers and then 10) through
 *    the step's write path: adapter.scrape, createSportingEventMatcher(orm).match, updateStepProgress
 *    (what scrapePlatform does with a batch over ODDS_FLUSH_ROWS), on a throwaway database with the
 *    migrations applied. "first scrape": the tables emptied before (every sporting event new); "next
 *    scrape": the same response again in a new run (listings known, every price an update). Split into
 *    fetch (until the quota headers are read), parse + map, match and store; goal: under 100 ms. Over it
 *    (or with BENCH_PROFILE=1), a CPU profile of more rounds and the plan of the store statement.
 * OpenTelemetry is not registered here (spans are no-ops): bench:telemetry measures that overhead.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Knex } from '@mikro-orm/postgresql';
import { load } from 'cheerio';
import { openDatabase } from '../src/db/database.js';
import { boundStatement } from '../src/db/boundStatement.js';
import { oddsUpsertCte } from '../src/db/tables/odds.js';
import { updateStepProgress } from '../src/db/tables/platformSteps.js';
import { finishRunWithSteps, insertRunWithSteps, markRunRunning } from '../src/db/tables/runs.js';
import { canonicalOdds, createSportingEventMatcher } from '../src/odds/sportingEventMatcher.js';
import { IGNORE_OBSERVATIONS, type PlatformAdapter, type ScrapedSelection, type ScrapeObserver } from '../src/platforms/adapter.js';
import { createAdapter } from '../src/platforms/createAdapter.js';
import { feedPageUrl } from '../src/platforms/feed/feedAdapter.js';
import { oddsApiUrl } from '../src/platforms/oddsApi/oddsApiAdapter.js';
import { compileExpression } from '../src/platforms/json/expressions.js';
import { readOddsResponse } from '../src/platforms/oddsApi/oddsApiResponse.js';
import { createPlatformHttp, parseJsonBody, type PlatformHttp } from '../src/platforms/platformHttp.js';
import { parsePlatformEntry, type PlatformEntry } from '../src/platforms/platformsFile.js';
import { SimulatedFeeds } from '../src/platforms/simulatedFeeds.js';
import { SIMULATED_KINDS } from '../src/platforms/simulator/kinds.js';
import type { PlatformKind } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { summariseProfile } from './cpuProfile.js';
import { sampleLoad } from './runEnvironment.js';
import { benchDatabase, median } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const TIMEOUT_MS = 60_000;
const GOAL_MS = 100;
const AGGREGATE_BYTES = 2_000_000;
const NEVER = new AbortController().signal;
const ROOT = path.resolve(import.meta.dirname, '..');

/** The simulated platform of each kind, and the selections one of its sporting events carries. */
/** The kinds read over plain HTTP (a browser platform's cost is bench/browser.bench.ts's). */
type HttpKind = Exclude<PlatformKind, 'browser'>;
const KINDS: { kind: HttpKind; simulated: string; perEvent: number }[] = [
  { kind: 'feed', simulated: 'northwind', perEvent: 5 },
  { kind: 'odds-api', simulated: 'oddsline', perEvent: 15 },
  { kind: 'json', simulated: 'quayside', perEvent: 5 },
  { kind: 'html', simulated: 'oakridge', perEvent: 5 },
];
const SIZES = [
  { selections: 1_000, rounds: ROUNDS, warmup: 5 },
  { selections: 10_000, rounds: Math.max(5, Math.round(ROUNDS / 3)), warmup: 2 },
];

// ---------------------------------------------------------------------------------------------------
// Pre-built responses on loopback

interface Served {
  body: Buffer;
  headers: Record<string, string>;
}

const served = new Map<string, Served>();
const server = createServer((request, response) => {
  const page = served.get(new URL(request.url ?? '/', 'http://loopback').pathname);
  if (!page) return void response.writeHead(404).end();
  response.writeHead(200, { ...page.headers, 'content-length': String(page.body.length) }).end(page.body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

/** The URL of an entry's first (and here only) request, as its adapter makes it. */
function firstRequestUrl(entry: PlatformEntry): string {
  switch (entry.kind) {
    case 'feed':
      return feedPageUrl(entry.baseUrl, 1);
    case 'odds-api':
      return oddsApiUrl(entry);
    case 'json':
    case 'html':
    case 'browser':
      return entry.url;
  }
}

const KEPT_HEADERS = ['content-type', 'x-requests-remaining', 'x-requests-used', 'x-requests-last'];

/** One response of a simulated platform with `events` sporting events on one page, as it came. */
async function capture(sim: SimulatedFeeds, simulated: string, events: number): Promise<Served> {
  sim.set(simulated, { eventsPerPage: events });
  const response = await fetch(firstRequestUrl(parsePlatformEntry(sim.entryOf(simulated), TIMEOUT_MS, sim.env)));
  if (response.status !== 200) throw new Error(`simulator: ${simulated} answered HTTP ${response.status}`);
  const headers = Object.fromEntries(KEPT_HEADERS.flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)!]] : [])));
  return { body: Buffer.from(await response.arrayBuffer()), headers };
}

/** The entry the simulator would give `name` of this kind, pointed at the loopback server, serving `page` there. */
function servedPlatform(kind: PlatformKind, name: string, page: Served, env: Record<string, string>): { entry: PlatformEntry; url: string } {
  const entry = parsePlatformEntry(SIMULATED_KINDS[kind].entry(name, origin), TIMEOUT_MS, env);
  const url = firstRequestUrl(entry);
  served.set(new URL(url).pathname, page);
  return { entry, url };
}

// ---------------------------------------------------------------------------------------------------
// Hand-written mappers: the same selections, no validation

const round4 = (price: number) => Math.round(price * 10_000) / 10_000;
const fractional = (text: string) => {
  if (text === 'Evs') return 2;
  const slash = text.indexOf('/');
  return round4(1 + Number(text.slice(0, slash)) / Number(text.slice(slash + 1)));
};
const american = (text: string) => round4(text.startsWith('+') ? 1 + Number(text.slice(1)) / 100 : 1 + 100 / Number(text.slice(1)));

interface FeedBody {
  events: { id: string; name: string; startsAt?: string; markets: { name: string; selections: { name: string; price: number }[] }[] }[];
}
function feedByHand(text: string, bookmaker: string): ScrapedSelection[] {
  const rows: ScrapedSelection[] = [];
  for (const event of (JSON.parse(text) as FeedBody).events) {
    for (const market of event.markets) {
      for (const selection of market.selections) {
        rows.push({ eventKey: event.id, eventName: event.name, startsAt: event.startsAt, market: market.name, selection: selection.name, price: selection.price, priceText: String(selection.price), bookmaker });
      }
    }
  }
  return rows;
}

type OddsApiBody = {
  id: string;
  commence_time: string;
  home_team: string;
  away_team: string;
  bookmakers: { key: string; markets: { key: string; outcomes: { name: string; price: number; point?: number }[] }[] }[];
}[];
function oddsApiByHand(text: string): ScrapedSelection[] {
  const rows: ScrapedSelection[] = [];
  for (const event of JSON.parse(text) as OddsApiBody) {
    const common = { eventKey: event.id, eventName: `${event.home_team} v ${event.away_team}`, home: event.home_team, away: event.away_team, startsAt: event.commence_time };
    for (const offer of event.bookmakers) {
      for (const market of offer.markets) {
        for (const outcome of market.outcomes) {
          const selection = outcome.point === undefined ? outcome.name : `${outcome.name} ${outcome.point}`;
          rows.push({ ...common, market: market.key, selection, price: outcome.price, priceText: String(outcome.price), bookmaker: offer.key });
        }
      }
    }
  }
  return rows;
}

interface QuaysideBody {
  data: {
    fixtures: {
      fixtureId: number;
      participants: { home: { name: string }; away: { name: string } };
      kickoff: string;
      offers: { type: string; line?: number; outcomes: { label: string; odds: string }[] }[];
    }[];
  };
}
/** What QUAYSIDE_SELECT (the simulator's JSONata mapping) does, written as a loop. */
function jsonByHand(text: string, bookmaker: string): ScrapedSelection[] {
  const rows: ScrapedSelection[] = [];
  for (const fixture of (JSON.parse(text) as QuaysideBody).data.fixtures) {
    const home = fixture.participants.home.name;
    const away = fixture.participants.away.name;
    const common = { eventKey: String(fixture.fixtureId), eventName: `${home} v ${away}`, home, away, startsAt: fixture.kickoff, bookmaker };
    for (const offer of fixture.offers) {
      if (offer.type !== 'MATCH_RESULT' && offer.type !== 'OVER_UNDER') continue;
      const result = offer.type === 'MATCH_RESULT';
      for (const outcome of offer.outcomes) {
        const selection = result ? outcome.label : `${outcome.label.toLowerCase()} ${offer.line}`;
        rows.push({ ...common, market: result ? 'match_result' : 'total_goals', selection, price: fractional(outcome.odds), priceText: outcome.odds });
      }
    }
  }
  return rows;
}

const OUTCOMES = ['home', 'draw', 'away'] as const;
/** The html entry's selectors, written by hand on cheerio. */
function htmlByHand(text: string, bookmaker: string): ScrapedSelection[] {
  const $ = load(text);
  const rows: ScrapedSelection[] = [];
  $('tr[data-event-id]').each((_, element) => {
    const row = $(element);
    const home = row.find('td.home').text().trim();
    const away = row.find('td.away').text().trim();
    const common = { eventKey: row.attr('data-event-id')!, eventName: `${home} v ${away}`, home, away, startsAt: row.find('time').attr('datetime'), bookmaker };
    for (const outcome of OUTCOMES) {
      const price = row.find(`td[data-outcome=${outcome}] .price`).text().trim();
      rows.push({ ...common, market: 'match_result', selection: outcome, price: american(price), priceText: price });
    }
    row.find('button[data-selection]').each((_, button) => {
      const price = $(button).find('.price').text().trim();
      rows.push({ ...common, market: 'total_goals_2.5', selection: $(button).attr('data-selection')!, price: american(price), priceText: price });
    });
  });
  return rows;
}

const FIXTURE_ROW = /<tr class="fixture" data-event-id="(\d+)">([\s\S]*?)<\/tr>/g;
const KICKOFF = /<time datetime="([^"]+)"/;
const TEAM = /<td class="team (home|away)">([^<]*)<\/td>/g;
const OUTCOME_PRICE = /data-outcome="(home|draw|away)">[\s\S]*?<span class="price">([^<]+)<\/span>/g;
const TOTAL_PRICE = /data-selection="(over|under)">[^<]*<span class="price">([^<]+)<\/span>/g;
/** A regular expression extractor written against this one page (no DOM, breaks with its layout). */
function htmlByRegex(text: string, bookmaker: string): ScrapedSelection[] {
  const rows: ScrapedSelection[] = [];
  for (const [, eventKey, cells] of text.matchAll(FIXTURE_ROW)) {
    const teams = Object.fromEntries([...cells!.matchAll(TEAM)].map(([, side, name]) => [side, name!.trim()]));
    const common = { eventKey: eventKey!, eventName: `${teams.home} v ${teams.away}`, home: teams.home!, away: teams.away!, startsAt: KICKOFF.exec(cells!)?.[1], bookmaker };
    for (const [, selection, price] of cells!.matchAll(OUTCOME_PRICE)) rows.push({ ...common, market: 'match_result', selection: selection!, price: american(price!), priceText: price! });
    for (const [, selection, price] of cells!.matchAll(TOTAL_PRICE)) rows.push({ ...common, market: 'total_goals_2.5', selection: selection!, price: american(price!), priceText: price! });
  }
  return rows;
}

/** Where the hand-written selections differ from the adapter's (key, names, price), or undefined. */
function difference(adapter: readonly ScrapedSelection[], byHand: readonly ScrapedSelection[]): string | undefined {
  if (adapter.length !== byHand.length) return `${adapter.length} selections against ${byHand.length}`;
  const fields = ['eventKey', 'eventName', 'market', 'selection', 'priceText', 'bookmaker'] as const;
  for (let index = 0; index < adapter.length; index += 1) {
    const [a, b] = [adapter[index]!, byHand[index]!];
    const field = fields.find((name) => a[name] !== b[name]);
    if (field) return `selection ${index}: ${field} ${JSON.stringify(a[field])} against ${JSON.stringify(b[field])}`;
    if (Math.abs(a.price - b.price) > 1e-9) return `selection ${index}: price ${a.price} against ${b.price}`;
  }
  return undefined;
}

async function scrapeAll(adapter: PlatformAdapter, observer: ScrapeObserver = IGNORE_OBSERVATIONS): Promise<ScrapedSelection[]> {
  const rows: ScrapedSelection[] = [];
  await adapter.scrape(NEVER, async ({ batch }) => void rows.push(...batch), observer);
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Part 1: parse + map per kind

const loadBefore = loadavg();
const load1 = sampleLoad();
const sim = new SimulatedFeeds({ '*': { latencyMs: 0, pages: 1, priceDrift: 0 } });
await sim.start();

interface ArmResult {
  arm: string;
  ms: number;
}
interface CaseResult {
  kind: PlatformKind;
  selections: number;
  events: number;
  bytes: number;
  rounds: number;
  arms: ArmResult[];
}
const cases: CaseResult[] = [];
let failed = false;

try {
  for (const size of SIZES) {
    for (const { kind, simulated, perEvent } of KINDS) {
      const events = Math.round(size.selections / perEvent);
      const page = await capture(sim, simulated, events);
      const name = `${simulated}-${size.selections}`;
      const { entry, url } = servedPlatform(kind, name, page, sim.env);
      const adapter = createAdapter(entry);
      const http: PlatformHttp = createPlatformHttp({ name, timeoutMs: TIMEOUT_MS });
      const get = () => http.request({ url, accept: '*/*', page: 1 }, NEVER, IGNORE_OBSERVATIONS);
      const byHand = { feed: (text: string) => feedByHand(text, name), 'odds-api': oddsApiByHand, json: (text: string) => jsonByHand(text, name), html: (text: string) => htmlByHand(text, name) }[kind];

      const arms: Record<string, () => Promise<unknown>> = {
        fetch: async () => (await get()).text,
        'by hand': async () => byHand((await get()).text),
        adapter: () => scrapeAll(adapter),
      };
      if (entry.kind === 'json') {
        const select = compileExpression(name, 'select', entry.select, TIMEOUT_MS);
        arms['select only'] = async () => select.evaluate(JSON.parse((await get()).text), 1);
      }
      if (kind === 'html') {
        arms['regex extractor'] = async () => htmlByRegex((await get()).text, name);
        arms['cheerio load only'] = async () => load((await get()).text);
      }

      const reference = await scrapeAll(adapter);
      const checked = [{ arm: 'by hand', map: byHand }, ...(kind === 'html' ? [{ arm: 'regex extractor', map: (text: string) => htmlByRegex(text, name) }] : [])];
      for (const { arm, map } of checked) {
        const mismatch = difference(reference, map((await get()).text));
        if (mismatch) {
          console.error(`${kind}, ${size.selections}: ${arm} does not give the adapter's selections: ${mismatch}`);
          failed = true;
        }
      }

      const times = Object.fromEntries(Object.keys(arms).map((arm) => [arm, [] as number[]]));
      for (let round = 0; round < size.warmup + size.rounds; round += 1) {
        const order = round % 2 === 0 ? Object.keys(arms) : Object.keys(arms).reverse();
        for (const arm of order) {
          const started = performance.now();
          await arms[arm]!();
          if (round >= size.warmup) times[arm]!.push(performance.now() - started);
        }
      }
      cases.push({ kind, selections: reference.length, events, bytes: page.body.length, rounds: size.rounds, arms: Object.keys(arms).map((arm) => ({ arm, ms: median(times[arm]!) })) });
    }
  }
} catch (error) {
  await sim.stop();
  server.close();
  throw error;
}
const loadDuring1 = load1.stop();

const fmt = (value: number, digits = 2) => value.toFixed(digits);
const kb = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString('en')} KiB`;
const ARM_LABELS: Record<string, string> = {
  fetch: 'fetch only (createPlatformHttp)',
  'by hand': 'by hand (JSON.parse + loop)',
  adapter: 'adapter.scrape',
  'regex extractor': 'regex extractor (no DOM)',
  'cheerio load only': 'cheerio load only',
  'select only': 'JSON.parse + JSONata select only',
};
console.log('1. parse + map, one response per round on loopback (pre-built body, no latency), medians of alternated rounds:');
for (const result of cases) {
  const per1k = (ms: number) => (ms * 1_000) / result.selections;
  const fetchMs = result.arms.find((arm) => arm.arm === 'fetch')!.ms;
  const hand = result.arms.find((arm) => arm.arm === 'by hand')!.ms;
  console.log(`\n  ${result.kind}: ${result.selections.toLocaleString('en')} selections, ${result.events.toLocaleString('en')} events, ${kb(result.bytes)}, ${result.rounds} rounds`);
  console.log(`    ${'arm'.padEnd(34)} ${'ms'.padStart(8)} ${'ms/1k sel'.padStart(10)} ${'x by hand'.padStart(10)} ${'map ms/1k'.padStart(10)} ${'x by hand'.padStart(10)}`);
  for (const { arm, ms } of result.arms) {
    const label = result.kind === 'html' && arm === 'by hand' ? 'by hand (cheerio + same selectors)' : ARM_LABELS[arm]!;
    const mapping = arm === 'fetch' ? '' : fmt(per1k(ms - fetchMs));
    const mappingRatio = arm === 'fetch' ? '' : `${fmt((ms - fetchMs) / (hand - fetchMs), 1)}x`;
    console.log(`    ${label.padEnd(34)} ${fmt(ms).padStart(8)} ${fmt(per1k(ms)).padStart(10)} ${`${fmt(ms / hand)}x`.padStart(10)} ${mapping.padStart(10)} ${mappingRatio.padStart(10)}`);
  }
}
console.log('\n  summary, ms per 1,000 selections (adapter / by hand, end to end; mapping alone = minus the fetch):');
for (const result of cases) {
  const ms = (arm: string) => result.arms.find((row) => row.arm === arm)!.ms;
  const per1k = (value: number) => (value * 1_000) / result.selections;
  const [adapter, hand, fetchMs] = [ms('adapter'), ms('by hand'), ms('fetch')];
  console.log(
    `    ${result.kind.padEnd(9)} ${result.selections.toLocaleString('en').padStart(7)} sel: adapter ${fmt(per1k(adapter)).padStart(6)}, by hand ${fmt(per1k(hand)).padStart(6)} = ${fmt(adapter / hand)}x; mapping alone ${fmt(per1k(adapter - fetchMs)).padStart(6)} against ${fmt(per1k(hand - fetchMs)).padStart(6)} = ${fmt((adapter - fetchMs) / (hand - fetchMs), 1)}x`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Part 2: a 2 MB aggregator response, fetched, mapped, matched and stored

/** The simulator's odds-api response re-shaped to `bookmakers` per event (each a copy of one of its three under a key of its own). */
function withBookmakers(page: Served, bookmakers: number): Served {
  const events = JSON.parse(page.body.toString('utf8')) as { bookmakers: { key: string; title: string }[] }[];
  if (bookmakers === 3) return page;
  for (const event of events) {
    const own = event.bookmakers;
    event.bookmakers = Array.from({ length: bookmakers }, (_, index) => ({ ...own[index % own.length]!, key: `${own[index % own.length]!.key}_${index}`, title: `Bookmaker ${index}` }));
  }
  return { ...page, body: Buffer.from(JSON.stringify(events)) };
}

interface Marks {
  start: number;
  fetched: number;
  mapped: number;
  matched: number;
  stored: number;
}
const PHASES = [
  ['fetch', 'start', 'fetched'],
  ['parse + map', 'fetched', 'mapped'],
  ['match', 'mapped', 'matched'],
  ['store', 'matched', 'stored'],
  ['total', 'start', 'stored'],
] as const;

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();
const orm = await openDatabase(db.url, silent);
const matcher = createSportingEventMatcher(orm);
const load2Before = loadavg();
const load2 = sampleLoad();
let runId: number | undefined;

/** A new run with this platform's step running (the previous run finished first: one run is active at a time). */
async function newRun(platform: string): Promise<number> {
  if (runId !== undefined) await finishRunWithSteps(orm, runId, 'completed', null, ['running'], 'bench round over');
  runId = await insertRunWithSteps(orm, { trigger: 'api', platforms: [platform], retryOf: null, ownerId: 'bench', traceId: null });
  await markRunRunning(orm, runId);
  await boundStatement(orm, `update platform_steps set status = 'running', started_at = now() where run_id = ? and platform = ?`, [runId, platform]);
  return runId;
}

const emptyTables = () => boundStatement(orm, 'truncate odds, event_listings, sporting_events');

/** One scrape through the step's write path, timed by phase. */
async function scrapeAndStore(adapter: PlatformAdapter, run: number): Promise<Marks & { selections: number }> {
  const marks: Marks = { start: 0, fetched: 0, mapped: 0, matched: 0, stored: 0 };
  let selections = 0;
  // The adapter reports the quota headers once the body is read and before it parses it.
  const observer: ScrapeObserver = { ...IGNORE_OBSERVATIONS, quota: () => void (marks.fetched = performance.now()) };
  marks.start = performance.now();
  await adapter.scrape(NEVER, async ({ eventsFound, batch }) => {
    marks.mapped = performance.now();
    selections = batch.length;
    const matched = await matcher.match(adapter.name, batch);
    marks.matched = performance.now();
    await updateStepProgress(orm, run, adapter.name, eventsFound, matched, 'bench', 1);
    marks.stored = performance.now();
  }, observer);
  return { ...marks, selections };
}

const aggregateRounds = Math.max(5, Math.round(ROUNDS / 3));
const aggregateWarmup = 2;
const profileWanted = process.env.BENCH_PROFILE === '1';
const entryOf = new Map<string, PlatformEntry>();
const overGoal: { label: string; adapter: PlatformAdapter; platform: string }[] = [];
console.log(`\n2. an odds-api response of ~${(AGGREGATE_BYTES / 1e6).toFixed(0)} MB (h2h + totals) fetched, mapped, matched and stored (adapter.scrape, matcher.match, updateStepProgress), ${aggregateRounds} rounds after ${aggregateWarmup} warm-up, medians:`);
try {
  const sample = await capture(sim, 'oddsline', 100);
  for (const bookmakers of [3, 10]) {
    const perEvent = withBookmakers(sample, bookmakers).body.length / 100;
    const page = withBookmakers(await capture(sim, 'oddsline', Math.round(AGGREGATE_BYTES / perEvent)), bookmakers);
    const platform = `oddsline-${bookmakers}b`;
    const { entry } = servedPlatform('odds-api', platform, page, sim.env);
    entryOf.set(platform, entry);
    const adapter = createAdapter(entry);
    const times = { first: [] as Marks[], next: [] as Marks[] };
    let selections = 0;
    for (let round = 0; round < aggregateWarmup + aggregateRounds; round += 1) {
      await emptyTables();
      const first = await scrapeAndStore(adapter, await newRun(platform));
      const next = await scrapeAndStore(adapter, await newRun(platform));
      selections = first.selections;
      if (round >= aggregateWarmup) {
        times.first.push(first);
        times.next.push(next);
      }
    }
    const [{ stored, events }] = (await boundStatement(orm, 'select (select count(*)::int from odds) as stored, (select count(*)::int from sporting_events) as events')).rows as [{ stored: number; events: number }];
    if (stored !== selections) {
      console.error(`${platform}: ${stored} prices stored, ${selections} scraped`);
      failed = true;
    }
    const eventCount = (JSON.parse(page.body.toString('utf8')) as unknown[]).length;
    console.log(`\n  ${bookmakers} bookmakers: ${(page.body.length / 1e6).toFixed(2)} MB, ${eventCount.toLocaleString('en')} events, ${selections.toLocaleString('en')} selections (${stored.toLocaleString('en')} rows stored, ${events.toLocaleString('en')} sporting events)`);
    console.log(`    ${''.padEnd(12)} ${PHASES.map(([phase]) => phase.padStart(12)).join('')}   goal`);
    for (const [label, rows] of [['first scrape', times.first], ['next scrape', times.next]] as const) {
      const phase = (from: keyof Marks, to: keyof Marks) => median(rows.map((marks) => marks[to] - marks[from]));
      const total = phase('start', 'stored');
      const within = total < GOAL_MS;
      if (!within) overGoal.push({ label: `${bookmakers} bookmakers`, adapter, platform });
      const spread = `(total min ${fmt(Math.min(...rows.map((marks) => marks.stored - marks.start)), 1)}, max ${fmt(Math.max(...rows.map((marks) => marks.stored - marks.start)), 1)})`;
      console.log(`    ${label.padEnd(12)} ${PHASES.map(([, from, to]) => `${fmt(phase(from, to), 1)} ms`.padStart(12)).join('')}   ${within ? 'within' : 'OVER'} ${GOAL_MS} ms ${spread}`);
    }
    if (profileWanted && !overGoal.some((over) => over.platform === platform)) overGoal.push({ label: `${bookmakers} bookmakers (BENCH_PROFILE)`, adapter, platform });
  }

  // Where the time goes: JavaScript by CPU profile (database waits are idle there), the store statement by its plan.
  for (const { label, adapter, platform } of overGoal.filter((over, index, all) => all.findIndex((other) => other.platform === over.platform) === index)) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    for (let round = 0; round < aggregateRounds; round += 1) {
      await emptyTables();
      await scrapeAndStore(adapter, await newRun(platform));
      await scrapeAndStore(adapter, await newRun(platform));
    }
    const window = { from: 0, to: Number(process.hrtime.bigint() / 1000n) };
    const { profile } = await session.post('Profiler.stop');
    // The first sample carries the time from the start to it (Profiler.start's own call): left out.
    window.from = profile.startTime + (profile.timeDeltas?.[0] ?? 0) + 1;
    session.disconnect();
    const file = path.join(tmpdir(), `oddswatch-mapping-${platform}-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const summary = summariseProfile(file, 20, window).replaceAll(`file://${ROOT}/`, '');
    // A loaded machine can starve the sampler: say how much of the time the samples cover.
    const covered = (profile.timeDeltas ?? []).reduce((sum, delta) => sum + delta, 0) / (profile.endTime - profile.startTime);
    console.log(`\n  CPU profile of ${label}: ${aggregateRounds} first + next scrapes, samples covering ${Math.round(covered * 100)}% of the time (${file}):\n${summary.replace(/^/gm, '    ')}`);

    // The JavaScript parts of each phase, in memory on the same response (medians).
    const text = (await createPlatformHttp({ name: platform, timeoutMs: TIMEOUT_MS }).request({ url: firstRequestUrl(entryOf.get(platform)!), accept: '*/*', page: 1 }, NEVER, IGNORE_OBSERVATIONS)).text;
    const rows = await scrapeAll(adapter);
    const matched = await matcher.match(platform, rows);
    const timed = (work: () => unknown) => median(Array.from({ length: aggregateRounds }, () => {
      const started = performance.now();
      work();
      return performance.now() - started;
    }));
    const parsed = parseJsonBody(text, 1);
    const parts = [
      ['JSON.parse (parseJsonBody)', timed(() => parseJsonBody(text, 1))],
      ['readOddsResponse (zod + mapping)', timed(() => readOddsResponse(parsed, IGNORE_OBSERVATIONS))],
      ['canonicalOdds (in match)', timed(() => canonicalOdds(rows))],
      ['oddsUpsertCte (building the statement)', timed(() => oddsUpsertCte(platform, runId!, matched))],
    ] as const;
    console.log(`\n  in memory, ${label} (medians of ${aggregateRounds}):\n${parts.map(([part, ms]) => `    ${part.padEnd(40)} ${fmt(ms, 1).padStart(7)} ms`).join('\n')}`);

    // The store statement of a next scrape, executed under EXPLAIN ANALYZE and rolled back.
    const upsert = oddsUpsertCte(platform, runId!, matched);
    const trx = await orm.em.getConnection().getKnex().transaction();
    try {
      const plan = (await trx.raw(`explain (analyze, buffers) with ${upsert.sql} update platform_steps set events_found = ? where run_id = ? and platform = ? and status = 'running'`, [...upsert.params, 0, runId!, platform] as Knex.RawBinding[])) as { rows: { 'QUERY PLAN': string }[] };
      console.log(`\n  plan of the store statement (${label}, next scrape; rolled back):\n${plan.rows.map((row) => `    ${row['QUERY PLAN']}`).join('\n')}`);
    } finally {
      await trx.rollback();
    }
  }
} finally {
  await sim.stop();
  await orm.close(true);
  await db.drop();
  server.close();
}
const loadDuring2 = load2.stop();

// ---------------------------------------------------------------------------------------------------
// What it ran on

const git = (args: string) => {
  try {
    return execSync(`git ${args}`, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
};
const loads = (values: readonly number[]) => `min ${fmt(Math.min(...values))}, median ${fmt(median([...values]))}, max ${fmt(Math.max(...values))} (${values.length} samples)`;
const core = cpus();
console.log(`\nmachine: ${core.length} cores, ${core[0]?.model ?? 'unknown model'}; Node ${process.version}; checkout ${git('rev-parse --short HEAD')} (${git('status --porcelain -- src') === '' ? 'src clean' : 'src dirty'})`);
console.log(`load average before (1 / 5 / 15 min): ${loadBefore.map((value) => fmt(value)).join(' / ')}`);
console.log(`load average (1 min) during part 1: ${loads(loadDuring1)}; during part 2: ${loads(loadDuring2)} (before it ${fmt(load2Before[0]!)})`);
if (failed) process.exitCode = 1;
