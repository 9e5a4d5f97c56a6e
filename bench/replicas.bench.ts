/**
 * Several-replicas figures. (1) A single-replica run on the PostgreSQL bus against the same run with the
 * in-process bus (the event written by one autocommit INSERT and published in memory, as before the bus),
 * alternated in one process on one database: the ratio of median run wall times (goal <= 1.05).
 * (2) Delivery latency from the start of `record` to a subscriber's callback, on the replica that wrote
 * the event (same-replica) and on a second replica reading it through its own LISTEN session
 * (cross-replica): p50/p99 (goal: cross p99 <= 2x same p99 and < 100 ms).
 * Usage: npm run bench:replicas (needs a PostgreSQL: BENCH_DATABASE_URL, default the local one).
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { PostgresProgressBus } from '../src/events/postgresProgressBus.js';
import { EventLog } from '../src/events/eventLog.js';
import { InProcessProgressBus } from '../src/events/progressBus.js';
import { startServer } from '../src/server.js';
import type { EventPayloads, EventType, RunDetail, StreamEvent } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();
const server = await startServer(
  loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent', SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 30, pages: 3, eventsPerPage: 5 } }) }),
  { logger: process.env.BENCH_DEBUG ? createLogger('error') : silent },
);

/** The pre-bus event log: one autocommit INSERT, published in memory. */
class InProcessEventLog extends EventLog {
  private readonly memory = new InProcessProgressBus();
  override async record<T extends EventType>(runId: number | null, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
    const [row] = await server.orm.em.getConnection().execute<{ id: string; run_id: string | null; seq: number | null; created_at: Date }[]>(
      runId === null
        ? `insert into run_events (type, payload) values (?, ?::jsonb) returning id, run_id, seq, created_at`
        : `with next as (update runs set last_seq = last_seq + 1 where id = ? returning id, last_seq)
           insert into run_events (run_id, seq, type, payload) select id, last_seq, ?, ?::jsonb from next returning id, run_id, seq, created_at`,
      runId === null ? [type, JSON.stringify(data)] : [runId, type, JSON.stringify(data)],
      'all',
    );
    const event = { id: Number(row!.id), seq: row!.seq, runId, type, at: new Date(row!.created_at).toISOString(), data } as StreamEvent;
    this.memory.publish(event);
    return event;
  }
}

async function run(): Promise<number> {
  if (process.env.BENCH_DEBUG) console.error("run", new Date().toISOString());
  const created = (await (await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as RunDetail;
  if (!created.id) throw new Error(`POST /api/runs: ${JSON.stringify(created)}`);
  for (;;) {
    const current = (await (await fetch(`${server.url}/api/runs/${created.id}`)).json()) as RunDetail;
    if (current.finishedAt) return current.durationMs!;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

try {
  const busLog = server.engine.events;
  const inProcessLog = new InProcessEventLog(server.orm, new InProcessProgressBus());
  const withBus: number[] = [];
  const withoutBus: number[] = [];
  await run();
  for (let round = 0; round < 8; round++) {
    server.engine.events = busLog;
    withBus.push(await run());
    server.engine.events = inProcessLog;
    withoutBus.push(await run());
  }
  server.engine.events = busLog;
  const ratio = median(withBus) / median(withoutBus);
  console.log(`single-replica run, median of ${withBus.length}: PostgreSQL bus ${median(withBus)} ms, in-process bus ${median(withoutBus)} ms, ratio ${ratio.toFixed(3)} (goal <= 1.05)`);

  // A second replica: its own LISTEN session on the same database.
  const other = new PostgresProgressBus({ databaseUrl: server.databaseUrl, replicaId: 'bench-other', logger: silent });
  await other.start();
  const same: number[] = [];
  const cross: number[] = [];
  let started = 0;
  let pending: () => void = () => undefined;
  // One event in flight at a time: each callback measures from the start of its record().
  server.engine.bus.subscribe('global', () => same.push(performance.now() - started));
  other.subscribe('global', () => {
    cross.push(performance.now() - started);
    pending();
  });
  for (let i = 0; i < 500; i++) {
    const arrived = new Promise<void>((resolve) => (pending = resolve));
    started = performance.now();
    await busLog.record(null, 'scheduler.changed', { scheduler: server.scheduler.state() });
    await arrived;
  }
  await other.stop();
  const f = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms`;
  console.log(`delivery over ${cross.length} events: same-replica ${f(same)}; cross-replica ${f(cross)}; cross p99 / same p99 ${(percentile(cross, 99) / percentile(same, 99)).toFixed(2)} (goal <= 2 and < 100 ms)`);
} finally {
  await server.stop();
  await db.drop();
}
