/**
 * Quick A/B figure for the odds upsert: rows/s of upsertOdds (movement kept: previous price beside the
 * current one, plus the event_key index) against the statement before that change, on a copy of the old
 * table, rounds interleaved so both see the same machine load. 20,000 rows in pages of 50, first as
 * inserts, then as updates with changed prices. Usage: npx tsx bench/odds-upsert.quick.ts
 */
import { Writable } from 'node:stream';
import { openDatabase, type Orm } from '../src/db/database.js';
import { sqlArray } from '../src/db/sqlArray.js';
import type { ScrapedSelection } from '../src/platforms/adapter.js';
import { upsertOdds } from '../src/runs/oddsStore.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();
const orm = await openDatabase(db.url, silent);
const ROWS = 20_000;
const PAGE = 50;

/** The statement as it was before movement was kept, on a table with the old columns and indexes. */
async function upsertBefore(orm: Orm, platform: string, runId: number, rows: ScrapedSelection[]): Promise<void> {
  await orm.em.getConnection().execute(
    `insert into odds_before (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
     select ?, u.event_key, u.event_name, u.market, u.selection, u.price, now(), ?
     from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[]) as u(event_key, event_name, market, selection, price)
     on conflict (platform, event_key, market, selection)
     do update set price = excluded.price, event_name = excluded.event_name, scraped_at = excluded.scraped_at, run_id = excluded.run_id`,
    [platform, runId, sqlArray(rows.map((r) => r.eventKey)), sqlArray(rows.map((r) => r.eventName)), sqlArray(rows.map((r) => r.market)), sqlArray(rows.map((r) => r.selection)), sqlArray(rows.map((r) => r.price))],
    'run',
  );
}

try {
  const connection = orm.em.getConnection();
  await connection.execute(`create table odds_before (id bigserial primary key, platform text not null, event_key text not null, event_name text not null, market text not null, selection text not null,
    price numeric(10,3) not null check (price > 1), scraped_at timestamptz not null, run_id bigint not null, unique (platform, event_key, market, selection))`);
  const rows = (shift: number) =>
    Array.from({ length: ROWS }, (_, index) => ({ eventKey: `ev-${Math.floor(index / 5)}`, eventName: 'A v B', market: 'match_result', selection: `s${index % 5}`, price: 1.5 + ((index + shift) % 100) / 100 }));
  const pass = async (write: typeof upsertOdds, platform: string, shift: number, runId: number) => {
    const batch = rows(shift);
    const started = performance.now();
    for (let offset = 0; offset < batch.length; offset += PAGE) await write(orm, platform, runId, batch.slice(offset, offset + PAGE));
    return ROWS / ((performance.now() - started) / 1000);
  };
  const figures = { before: { inserts: [] as number[], updates: [] as number[] }, after: { inserts: [] as number[], updates: [] as number[] } };
  for (let round = 0; round < 5; round += 1) {
    for (const [name, write] of [['before', upsertBefore], ['after', upsertOdds]] as const) {
      figures[name].inserts.push(await pass(write, `p${round}`, 0, 1));
      figures[name].updates.push(await pass(write, `p${round}`, 7, 2));
    }
  }
  for (const [name, figure] of Object.entries(figures)) {
    console.log(`${name}: inserts median ${Math.round(median(figure.inserts))} rows/s; updates (changed prices) median ${Math.round(median(figure.updates))} rows/s`);
  }
  const ratio = (kind: 'inserts' | 'updates') => (median(figures.after[kind]) / median(figures.before[kind])).toFixed(2);
  console.log(`after/before: inserts ${ratio('inserts')}x, updates ${ratio('updates')}x (pages of ${PAGE}, ${ROWS} rows a pass, 5 interleaved rounds)`);
} finally {
  await orm.close(true);
  await db.drop();
}
