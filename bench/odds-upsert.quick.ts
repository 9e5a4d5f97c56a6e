/**
 * Quick A/B figure for the odds upsert (one statement per feed page): rows/s of upsertOdds as shipped
 * (previous price kept beside the current one; odds_event_key_idx) against the statement and table as
 * they were before, plus the variants in between, each on its own table, rounds interleaved (ABBA) so
 * all see the same machine load. 20,000 rows a pass in pages of 50: inserts (first scrape), then three
 * update passes with changed prices (later scrapes; the last is the steady state reported). Prints the
 * share of HOT updates (no index touched). Usage: npx tsx bench/odds-upsert.quick.ts
 */
import { Writable } from 'node:stream';
import { openDatabase } from '../src/db/database.js';
import { sqlArray } from '../src/db/sqlArray.js';
import type { ScrapedSelection } from '../src/platforms/adapter.js';
import { upsertOdds } from '../src/runs/oddsStore.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();
const orm = await openDatabase(db.url, silent);
const connection = orm.em.getConnection();
const ROWS = 20_000;
const PAGE = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 6);

const OLD_SET = 'price = excluded.price, event_name = excluded.event_name, scraped_at = excluded.scraped_at, run_id = excluded.run_id';
const NEW_SET = `previous_price = case when t.run_id = excluded.run_id then t.previous_price else t.price end,
  previous_scraped_at = case when t.run_id = excluded.run_id then t.previous_scraped_at else t.scraped_at end, ${OLD_SET}`;

type Write = (platform: string, runId: number, rows: ScrapedSelection[]) => Promise<unknown>;
const inline = (table: string, set: string): Write => (platform, runId, rows) =>
  connection.execute(
    `insert into ${table} as t (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
     select ?, u.event_key, u.event_name, u.market, u.selection, u.price, now(), ?
     from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[]) as u(event_key, event_name, market, selection, price)
     on conflict (platform, event_key, market, selection) do update set ${set}`,
    [platform, runId, sqlArray(rows.map((r) => r.eventKey)), sqlArray(rows.map((r) => r.eventName)), sqlArray(rows.map((r) => r.market)), sqlArray(rows.map((r) => r.selection)), sqlArray(rows.map((r) => r.price))],
    'run',
  );

try {
  const oldColumns = `id bigserial primary key, platform text not null, event_key text not null, event_name text not null, market text not null, selection text not null,
    price numeric(10,3) not null check (price > 1), scraped_at timestamptz not null, run_id bigint not null, unique (platform, event_key, market, selection)`;
  await connection.execute(`create table odds_before (${oldColumns})`);
  await connection.execute(`create table odds_columns_only (${oldColumns}, previous_price numeric(10,3), previous_scraped_at timestamptz)`);
  const variants: [string, Write][] = [
    ['before (old statement and table)', inline('odds_before', OLD_SET)],
    ['previous columns, no new index', inline('odds_columns_only', NEW_SET)],
    ['as shipped (upsertOdds)', (platform, runId, rows) => upsertOdds(orm, platform, runId, rows)],
  ];
  const rows = (shift: number) =>
    Array.from({ length: ROWS }, (_, index) => ({ eventKey: `ev-${Math.floor(index / 5)}`, eventName: 'A v B', market: 'match_result', selection: `s${index % 5}`, price: 1.5 + ((index + shift) % 100) / 100 }));
  const pass = async (write: Write, platform: string, shift: number, runId: number) => {
    const batch = rows(shift);
    const started = performance.now();
    for (let offset = 0; offset < batch.length; offset += PAGE) await write(platform, runId, batch.slice(offset, offset + PAGE));
    return ROWS / ((performance.now() - started) / 1000);
  };
  const figures = variants.map(() => ({ inserts: [] as number[], updates: [] as number[] }));
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? [...variants.keys()] : [...variants.keys()].reverse();
    for (const index of order) {
      figures[index]!.inserts.push(await pass(variants[index]![1], `p${round}`, 0, 1));
      await pass(variants[index]![1], `p${round}`, 7, 2);
      await pass(variants[index]![1], `p${round}`, 3, 3);
      figures[index]!.updates.push(await pass(variants[index]![1], `p${round}`, 11, 4));
    }
  }
  const base = figures[0]!;
  for (const [index, [name]] of variants.entries()) {
    const figure = figures[index]!;
    console.log(
      `${name.padEnd(34)} inserts ${Math.round(median(figure.inserts))} rows/s (${(median(figure.inserts) / median(base.inserts)).toFixed(2)}x), ` +
        `steady-state updates ${Math.round(median(figure.updates))} rows/s (${(median(figure.updates) / median(base.updates)).toFixed(2)}x)`,
    );
  }
  const hot = (await connection.execute(`select relname, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname like 'odds%' order by relname`)) as { relname: string; n_tup_upd: string; n_tup_hot_upd: string }[];
  console.log(`HOT updates: ${hot.map((t) => `${t.relname} ${Math.round((100 * Number(t.n_tup_hot_upd)) / Math.max(1, Number(t.n_tup_upd)))}%`).join(', ')}`);
  console.log(`(pages of ${PAGE}, ${ROWS} rows a pass, ${ROUNDS} interleaved rounds, medians)`);
} finally {
  await orm.close(true);
  await db.drop();
}
