/**
 * Run engine figures, every setting at its DEFAULT (no SCRAPE_CONCURRENCY override):
 *  1. Runs of 6, 60 and 200 simulated platforms (PLATFORMS_FILE over the six simulated feeds, their own
 *     latencies and pages): the run's wall time against its slowest platform scraped alone in this same
 *     bench, and the scrape pool's peak concurrency.
 *  2. SQL statements per 6-platform run: counted by wrapping pg's Client.prototype.query in this process
 *     (every round trip of the service's pool, BEGIN/COMMIT included; pg_stat_statements is not preloaded
 *     on the local server), from the POST until the runner is done.
 *  3. Odds persistence, 50,000 rows, warm, inserts then updates (every price moved, new run): the per-feed-page
 *     upsert as it was (the baseline: unnest statement, pages of 50, on the odds table as it was: fillfactor
 *     100, a bigserial primary key, the natural key, the event-key index and a trigram index over every
 *     price's event name), the shipped one (oddsUpsertCte on batches of ODDS_FLUSH_ROWS: the table filled
 *     to half, the natural key as primary key, names written once per sporting event and bookmaker to
 *     sporting_events), the batching alone and the statement and table alone, a raw multi-row VALUES upsert of 1,000 rows, and COPY into a temporary
 *     table then INSERT ... SELECT ... ON CONFLICT (COPY through a minimal pg submittable: pg-copy-streams is
 *     not installed), both writing the sporting events' names beside the odds as the shipped statement
 *     does. Each variant on its own database; rounds alternate the order (ABBA); medians; ratios
 *     against the baseline. Baseline and shipped also run with a name per sporting event (the others share
 *     one name), where the GIN trigram index costs more per insert.
 * Usage: npm run bench:engine (BENCH_DATABASE_URL, default the local PostgreSQL; BENCH_SIZES=6,60, or BENCH_SIZES= for the
 * odds figures only; BENCH_SKIP_ODDS=1 for the engine figures only).
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { ScrapedSelection } from '../src/platforms/adapter.js';
import { startServer, type RunningServer } from '../src/server.js';
import { ODDS_UPDATE_SET, oddsUpsertCte, uniqueSelections } from '../src/db/tables/odds.js';
import { ODDS_FLUSH_ROWS } from '../src/runs/oddsBuffer.js';
import { sqlArray } from '../src/db/sqlArray.js';
import type { RunDetail } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median, simulatedPlatforms, statementCount } from './support.js';

const SIZES = (process.env.BENCH_SIZES ?? '6,60,200').split(',').filter(Boolean).map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ODDS_ROWS = 50_000;
const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));

// Every statement any pg client of this process sends (the service's pool and liveness connection).
const statements = statementCount();

async function runToEnd(server: RunningServer, platforms: string[]): Promise<{ run: RunDetail; statements: number }> {
  const before = statements();
  const created = await server.runs.start({ trigger: 'api', platforms });
  await server.runs.inFlight.list().find((entry) => entry.runId === created.id)?.done;
  const counted = statements() - before;
  return { run: (await server.runs.reads.detailOf(created.id))!, statements: counted };
}

async function engineFigures(count: number): Promise<void> {
  const db = await benchDatabase();
  const { file, feeds } = await simulatedPlatforms(count, {});
  const server = await startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, PLATFORMS_FILE: file, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent' }), {
    logger: silent,
  });
  try {
    const all = server.platforms.names;
    await runToEnd(server, all); // warm-up
    const ratios: number[] = [];
    const walls: number[] = [];
    const alone: number[] = [];
    const counts: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const together = await runToEnd(server, all);
      counts.push(together.statements);
      const slowest = together.run.steps.reduce((a, b) => ((a.durationMs ?? 0) >= (b.durationMs ?? 0) ? a : b));
      const single = (await runToEnd(server, [slowest.platform])).run.durationMs!;
      walls.push(together.run.durationMs!);
      alone.push(single);
      ratios.push(together.run.durationMs! / single);
      if (together.run.status !== 'completed') console.log(`  (run ${together.run.id} ended ${together.run.status})`);
    }
    console.log(
      `${String(count).padStart(3)} platforms: run ${median(walls)} ms, slowest platform alone ${median(alone)} ms, ratio ${median(ratios).toFixed(2)}x ` +
        `(pool peak ${server.runs.scrapePool.peak}, ceiling ${server.runs.scrapePool.ceiling}); SQL statements per run ${median(counts)} (${(median(counts) / count).toFixed(1)} per platform)`,
    );
  } finally {
    await server.stop();
    await feeds.stop();
    rmSync(file, { force: true });
    await db.drop();
  }
}

/** COPY ... FROM STDIN through pg's submittable interface (what pg-copy-streams does, without streaming). */
class CopyIn {
  private error: unknown;
  constructor(
    private readonly text: string,
    private readonly data: string,
    private readonly done: (error?: unknown) => void,
  ) {}
  submit(connection: { query(text: string): void }) {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }) {
    connection.sendCopyFromChunk(Buffer.from(this.data));
    connection.endCopyFrom();
  }
  handleCommandComplete() {}
  handleReadyForQuery() {
    this.done(this.error);
  }
  handleError(error: unknown) {
    this.error = error;
  }
  handleEmptyQuery() {}
  handleRowDescription() {}
  handleDataRow() {}
}

const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};
type Write = (client: pg.Client, platform: string, runId: number, rows: ScrapedSelection[]) => Promise<unknown>;
/**
 * The listings a write records beside the odds (as the step's statement does), each sporting event's first
 * row naming it; `source` is a relation with event_key and event_name, `platform` an SQL placeholder.
 */
const listingsUpsert = (source: string, platform: string) => `insert into event_listings (platform, event_key, event_name, sporting_event_id)
     select distinct on (event_key) ${platform}, event_key, event_name, 1 from ${source} order by event_key
     on conflict (platform, event_key)
     do update set event_name = excluded.event_name where event_listings.event_name is distinct from excluded.event_name`;
const unnestUpsert: Write = (client, platform, runId, rows) => {
  const listings = [...new Map(rows.map((row) => [row.eventKey, row])).values()].map((row) => ({
    eventKey: row.eventKey,
    eventName: row.eventName,
    home: null,
    away: null,
    startsAt: null,
    firstKey: null,
    secondKey: null,
    sportingEventId: 1,
    swapped: false,
  }));
  const cte = oddsUpsertCte(platform, runId, { odds: rows, listings });
  return client.query(numbered(`with ${cte.sql} select 1`), cte.params);
};
/** The upsert as it was when the issue was measured: odds alone (names searched on odds itself). */
/** The statement as it was, on the table as it was (no `bookmaker`, no `price_text`: the update sets what that table had). */
const asItWasUpsert: Write = (client, platform, runId, rows) => {
  const unique = uniqueSelections(rows);
  const column = (pick: (row: ScrapedSelection) => string | number) => sqlArray(unique.map(pick));
  return client.query(
    `insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
     select $1, u.event_key, u.event_name, u.market, u.selection, u.price, now(), $2::bigint
     from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[]) as u(event_key, event_name, market, selection, price)
     on conflict (platform, event_key, market, selection) do update set ${ODDS_UPDATE_SET.replace('price_text = excluded.price_text, ', '')}`,
    [platform, runId, column((row) => row.eventKey), column((row) => row.eventName), column((row) => row.market), column((row) => row.selection), column((row) => row.price)],
  );
};
const valuesUpsert: Write = (client, platform, runId, rows) => {
  const params: unknown[] = [platform, runId];
  const tuples = rows.map((row) => {
    params.push(row.eventKey, row.eventName, row.market, row.selection, row.bookmaker, row.price, row.priceText);
    const n = params.length;
    return `($${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}::numeric, $${n})`;
  });
  return client.query(
    `with v (event_key, event_name, market, selection, bookmaker, price, price_text) as (values ${tuples.join(',')}),
     names as (${listingsUpsert('v', '$1')})
     insert into odds (platform, event_key, event_name, market, selection, bookmaker, price, price_text, scraped_at, run_id)
     select $1, event_key, event_name, market, selection, bookmaker, price, price_text, now(), $2::bigint from v
     on conflict (platform, event_key, market, selection, bookmaker) do update set ${ODDS_UPDATE_SET}`,
    params,
  );
};
const tsv = (value: string) => value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
const copyUpsert: Write = async (client, platform, runId, rows) => {
  await client.query('begin');
  await client.query(
    `create temporary table if not exists odds_in (event_key text, event_name text, market text, selection text, bookmaker text, price numeric, price_text text) on commit delete rows`,
  );
  const data = rows
    .map((row) => `${tsv(row.eventKey)}\t${tsv(row.eventName)}\t${tsv(row.market)}\t${tsv(row.selection)}\t${tsv(row.bookmaker)}\t${row.price}\t${tsv(row.priceText)}\n`)
    .join('');
  await new Promise<void>((resolve, reject) => {
    client.query(new CopyIn('copy odds_in from stdin', data, (error) => (error ? reject(error) : resolve())) as never);
  });
  await client.query(
    `insert into odds (platform, event_key, event_name, market, selection, bookmaker, price, price_text, scraped_at, run_id)
     select distinct on (event_key, market, selection, bookmaker) $1, event_key, event_name, market, selection, bookmaker, price, price_text, now(), $2::bigint from odds_in
     on conflict (platform, event_key, market, selection, bookmaker) do update set ${ODDS_UPDATE_SET}`,
    [platform, runId],
  );
  await client.query(listingsUpsert('odds_in', '$1'), [platform]);
  await client.query('commit');
};

/**
 * A database of its own for one variant, migrated as the service ships; `before` puts the odds table back to
 * the storage it had when the issue was measured (today's baseline): fillfactor 100
 * (Migration20261126030000_odds_fillfactor undone), the surrogate key, natural key and event-key index
 * (Migration20261126040000_odds_natural_primary_key undone) and the trigram index on odds
 * (Migration20261126050000_sporting_events undone; the statement as it was writes no sporting_events).
 */
async function oddsDatabase(storage: 'before' | 'shipped'): Promise<{ client: pg.Client; drop(): Promise<void> }> {
  const db = await benchDatabase();
  const server = await startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent' }), { logger: silent });
  await server.stop();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  if (storage === 'before') {
    await client.query('alter table odds reset (fillfactor)');
    await client.query('alter table odds drop constraint odds_pkey');
    await client.query('alter table odds drop column bookmaker, drop column price_text');
    await client.query('alter table odds add column id bigserial primary key');
    await client.query('alter table odds add constraint odds_natural_key_unique unique (platform, event_key, market, selection)');
    await client.query('create index odds_event_key_idx on odds (event_key)');
    await client.query('create index odds_event_name_trgm_idx on odds using gin (event_name gin_trgm_ops)');
  }
  return {
    client,
    async drop() {
      await client.end();
      await db.drop();
    },
  };
}

type EventNames = 'one name' | 'distinct names';

async function oddsFigures(): Promise<void> {
  // Each variant writes to its own odds table (same server, same size of table), so none slows another.
  // Ratios are against the baseline with the same event names: one name for every sporting event (the
  // figure this bench has always printed) and a name per sporting event, as feeds send them, which makes
  // the GIN trigram index on event_name the largest per-row cost of an insert.
  const variants: [string, number, Write, 'before' | 'shipped', EventNames][] = [
    ['baseline: per feed page (unnest, 50 rows)', 50, asItWasUpsert, 'before', 'one name'],
    [`shipped: unnest, ${ODDS_FLUSH_ROWS} rows, shipped table`, ODDS_FLUSH_ROWS, unnestUpsert, 'shipped', 'one name'],
    ['per feed page (50 rows), shipped statement and table', 50, unnestUpsert, 'shipped', 'one name'],
    [`${ODDS_FLUSH_ROWS} rows, statement and table as they were`, ODDS_FLUSH_ROWS, asItWasUpsert, 'before', 'one name'],
    ['multi-row VALUES, 1,000 rows, shipped table', 1_000, valuesUpsert, 'shipped', 'one name'],
    ['COPY temp + INSERT SELECT, 5,000 rows, shipped', 5_000, copyUpsert, 'shipped', 'one name'],
    ['baseline: per feed page (unnest, 50 rows)', 50, asItWasUpsert, 'before', 'distinct names'],
    [`shipped: unnest, ${ODDS_FLUSH_ROWS} rows, shipped table`, ODDS_FLUSH_ROWS, unnestUpsert, 'shipped', 'distinct names'],
  ];
  const databases: Awaited<ReturnType<typeof oddsDatabase>>[] = [];
  for (const [, , , storage] of variants) databases.push(await oddsDatabase(storage));
  const rows = (shift: number, names: EventNames) =>
    Array.from({ length: ODDS_ROWS }, (_, index) => {
      const event = Math.floor(index / 5);
      const eventName = names === 'one name' ? 'A v B' : `Team ${event} v Team ${event + 1}`;
      const price = 1.5 + ((index + shift) % 100) / 100;
      return { eventKey: `ev-${event}`, eventName, market: 'match_result', selection: `s${index % 5}`, bookmaker: 'bench', price, priceText: String(price) };
    });
  const pass = async (index: number, platform: string, shift: number, runId: number) => {
    const [, size, write, , names] = variants[index]!;
    const client = databases[index]!.client;
    const batch = rows(shift, names);
    const started = performance.now();
    for (let offset = 0; offset < batch.length; offset += size) await write(client, platform, runId, batch.slice(offset, offset + size));
    return ODDS_ROWS / ((performance.now() - started) / 1000);
  };
  try {
    // Warm: every variant once on a throwaway platform.
    for (const index of variants.keys()) await pass(index, 'warm', 0, 1);
    const figures = variants.map(() => ({ inserts: [] as number[], updates: [] as number[] }));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? [...variants.keys()] : [...variants.keys()].reverse();
      for (const index of order) {
        const platform = `odds-${round}`;
        figures[index]!.inserts.push(await pass(index, platform, 0, 1));
        figures[index]!.updates.push(await pass(index, platform, 7, 2));
      }
    }
    console.log(`odds persistence, ${ODDS_ROWS} rows a pass, ${ROUNDS} alternated rounds, medians (ratio to the baseline with the same event names):`);
    for (const names of ['one name', 'distinct names'] as const) {
      console.log(`  ${names === 'one name' ? 'one event name for all' : 'a name per sporting event'}:`);
      const base = figures[variants.findIndex((variant) => variant[4] === names)]!;
      for (const [index, [name, , , , variantNames]] of variants.entries()) {
        if (variantNames !== names) continue;
        const figure = figures[index]!;
        console.log(
          `    ${name.padEnd(52)} inserts ${String(Math.round(median(figure.inserts))).padStart(7)} rows/s (${(median(figure.inserts) / median(base.inserts)).toFixed(2)}x), ` +
            `updates ${String(Math.round(median(figure.updates))).padStart(7)} rows/s (${(median(figure.updates) / median(base.updates)).toFixed(2)}x)`,
        );
      }
    }
  } finally {
    for (const database of databases) await database.drop();
  }
}

for (const count of SIZES) await engineFigures(count);
if (!process.env.BENCH_SKIP_ODDS) await oddsFigures();
