/**
 * Run engine figures: a 6-platform run's wall time against its slowest platform (measured alone in
 * this same run), and odds persisted per second with the batched upsert against one INSERT per row.
 * Usage: npm run bench:engine (needs a PostgreSQL: BENCH_DATABASE_URL, default the local one).
 */
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import type { RunDetail } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();
const server = await startServer(
  loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, SCHEDULER_ENABLED: 'false', SCRAPE_CONCURRENCY: '6', LOG_LEVEL: 'silent' }),
  { logger: silent },
);

async function run(platforms: string[]): Promise<RunDetail> {
  const created = (await (await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms }) })).json()) as RunDetail;
  for (;;) {
    const current = (await (await fetch(`${server.url}/api/runs/${created.id}`)).json()) as RunDetail;
    if (current.finishedAt) return current;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  const all = server.platforms.names;
  await run(all); // warm-up
  const walls: number[] = [];
  const slowestAlone: number[] = [];
  let slowestName = '';
  for (let round = 0; round < 5; round += 1) {
    const together = await run(all);
    walls.push(together.durationMs!);
    const slowest = together.steps.reduce((a, b) => ((a.durationMs ?? 0) >= (b.durationMs ?? 0) ? a : b));
    slowestName = slowest.platform;
    slowestAlone.push((await run([slowest.platform])).durationMs!);
  }
  const [odds] = (await server.orm.em.getConnection().execute('select count(*)::int as n from odds')) as { n: number }[];
  console.log(`6-platform run (concurrency 6): median wall ${median(walls)} ms; slowest platform (${slowestName}) alone: ${median(slowestAlone)} ms; ratio ${(median(walls) / median(slowestAlone)).toFixed(2)}x`);

  // Odds persistence: the batched upsert (one statement per feed page) against one INSERT per row.
  const rows = Array.from({ length: 5000 }, (_, index) => ({ eventKey: `bench-ev-${Math.floor(index / 5)}`, eventName: 'A v B', market: 'match_result', selection: `s${index % 5}`, price: 1.5 + (index % 100) / 100 }));
  const { upsertOdds } = await import('../src/runs/oddsStore.js');
  let started = performance.now();
  for (let offset = 0; offset < rows.length; offset += 50) await upsertOdds(server.orm, 'bench-batched', 1, rows.slice(offset, offset + 50));
  const batchedPerSecond = rows.length / ((performance.now() - started) / 1000);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  started = performance.now();
  for (const row of rows) {
    await client.query(
      `insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id) values ('bench-single', $1, $2, $3, $4, $5, now(), 1)
       on conflict (platform, event_key, market, selection) do update set price = excluded.price, scraped_at = excluded.scraped_at`,
      [row.eventKey, row.eventName, row.market, row.selection, row.price],
    );
  }
  const singlePerSecond = rows.length / ((performance.now() - started) / 1000);
  await client.end();
  console.log(`odds persisted: batched ${Math.round(batchedPerSecond)} rows/s; one INSERT per row ${Math.round(singlePerSecond)} rows/s; ratio ${(batchedPerSecond / singlePerSecond).toFixed(1)}x (odds rows after the runs: ${odds!.n})`);
} finally {
  await server.stop();
  await db.drop();
}
