/**
 * GET /api/odds over 50,000 stored prices (6 bookmakers x 1,667 sporting events x 5 selections), on
 * loopback: median and p95 of a first page, a filtered page (bookmaker + name search) and a deep page
 * (a page token 90% of the way through), against a goal of 50 ms a page. Prints the EXPLAIN (ANALYZE,
 * BUFFERS) plan of the page statement for each. Usage: npm run bench:odds (BENCH_DATABASE_URL, default
 * the local PostgreSQL).
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { oddsPageSql, type OddsFilter } from '../src/db/tables/odds.js';
import { encodeOddsCursor } from '../src/odds/oddsQuery.js';
import { startServer } from '../src/server.js';
import type { OddsPage } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const EVENTS = 1_667;
const SAMPLES = 60;
const GOAL_MS = 50;
const TEAMS = ['Arsenal', 'Benfica', 'Celtic', 'Dynamo', 'Everton', 'Feyenoord', 'Galatasaray', 'Hertha', 'Inter', 'Juventus', 'Lazio', 'Marseille'];

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();
const server = await startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent' }), { logger: silent });
const connection = server.orm.em.getConnection();
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.95) - 1]!;

try {
  const platforms = server.platforms.names;
  // Every platform lists every sporting event (matched: one sporting event id each) and prices it; two
  // scrapes' worth of prices (the previous one beside).
  await connection.execute(
    `insert into sporting_events (id, event_name, first_key, second_key, home_key, starts_at)
     select e + 1, (?::text[])[1 + e % 12] || ' v ' || (?::text[])[1 + (e * 7 + 3) % 12] || ' ' || e, 'a' || e, 'b' || e, 'a' || e, now() + make_interval(hours => e)
     from generate_series(0, ? - 1) as e`,
    [`{${TEAMS.join(',')}}`, `{${TEAMS.join(',')}}`, EVENTS],
  );
  await connection.execute(`select setval(pg_get_serial_sequence('sporting_events', 'id'), (select max(id) from sporting_events))`);
  await connection.execute(
    `insert into event_listings (platform, event_key, event_name, starts_at, first_key, second_key, sporting_event_id)
     select p.name, 'ev-' || lpad((s.id - 1)::text, 5, '0'), s.event_name, s.starts_at, s.first_key, s.second_key, s.id
     from unnest(?::text[]) as p(name) cross join sporting_events s`,
    [`{${platforms.join(',')}}`],
  );
  await connection.execute(
    `insert into odds (platform, event_key, event_name, market, selection, bookmaker, price, price_text, scraped_at, run_id, previous_price, previous_scraped_at)
     select l.platform, l.event_key, l.event_name, s.market, s.selection, l.platform,
       round((1.5 + ((l.sporting_event_id * 37 + p.ord * 11 + s.ord * 13) % 300) / 100.0)::numeric, 2),
       round((1.5 + ((l.sporting_event_id * 37 + p.ord * 11 + s.ord * 13) % 300) / 100.0)::numeric, 2)::text,
       now() - interval '1 minute', 2,
       round((1.5 + ((l.sporting_event_id * 37 + p.ord * 11 + s.ord * 17) % 300) / 100.0)::numeric, 2),
       now() - interval '10 minutes'
     from event_listings l
     join unnest(?::text[]) with ordinality as p(name, ord) on p.name = l.platform
     cross join (values ('match_result', 'home', 1), ('match_result', 'draw', 2), ('match_result', 'away', 3),
                        ('totals', 'over 2.5', 4), ('totals', 'under 2.5', 5)) as s(market, selection, ord)`,
    [`{${platforms.join(',')}}`],
  );
  for (const table of ['odds', 'event_listings', 'sporting_events']) await connection.execute(`vacuum analyze ${table}`);
  const [{ n }] = (await connection.execute('select count(*)::int as n from odds')) as [{ n: number }];

  const deepId = Math.floor(EVENTS * 0.9);
  const cases: { name: string; query: string; filter: OddsFilter }[] = [
    { name: 'first page (20 events)', query: '', filter: { platforms, limit: 20 } },
    { name: 'filtered (redfox, q=arsenal)', query: '?platform=redfox&q=arsenal', filter: { platforms, platform: 'redfox', search: 'arsenal', limit: 20 } },
    { name: 'deep page (token at 90%)', query: `?cursor=${encodeOddsCursor(deepId)}`, filter: { platforms, limit: 20, afterId: deepId } },
    { name: 'rare search (1 match)', query: '?q=1500', filter: { platforms, search: '1500', limit: 20 } },
    { name: 'largest page (50 events)', query: '?limit=50', filter: { platforms, limit: 50 } },
  ];

  console.log(`GET /api/odds over ${n} stored prices (${platforms.length} bookmakers, ${EVENTS} sporting events), ${SAMPLES} requests each, loopback:`);
  const plans: string[] = [];
  for (const { name, query, filter } of cases) {
    const times: number[] = [];
    let page: OddsPage | undefined;
    for (let i = 0; i < SAMPLES + 5; i += 1) {
      const started = performance.now();
      const response = await fetch(`${server.url}/api/odds${query}`);
      page = (await response.json()) as OddsPage;
      if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status} ${JSON.stringify(page)}`);
      if (i >= 5) times.push(performance.now() - started);
    }
    const events = page!.items.length;
    const verdict = p95(times) < GOAL_MS ? 'within' : 'OVER';
    console.log(`  ${name.padEnd(30)} median ${median(times).toFixed(1)} ms, p95 ${p95(times).toFixed(1)} ms (${events} events/page; ${verdict} the ${GOAL_MS} ms goal)`);
    const { sql, params } = oddsPageSql(filter);
    const plan = (await connection.execute(`explain (analyze, buffers) ${sql}`, params)) as { 'QUERY PLAN': string }[];
    plans.push(`-- ${name}\n${plan.map((row) => row['QUERY PLAN']).join('\n')}`);
  }
  console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the page statement:\n\n${plans.join('\n\n')}`);
} finally {
  await server.stop();
  await db.drop();
}
