/**
 * Several-replicas figures. (1) A single-replica run on the PostgreSQL bus against the same run with the
 * in-process bus (every event, guarded or not, written by one autocommit statement without the events lock or
 * NOTIFY and published in memory, as before the bus), alternated in one process on one database: the ratio of
 * median run wall times (goal <= 1.05). The bench fails if a baseline run wrote any event the bus's way.
 * (2) Delivery latency from the start of `record` to a subscriber's callback, on the replica that wrote
 * the event (same-replica) and on a second replica reading it through its own LISTEN session
 * (cross-replica): p50/p99 (goal: cross p99 <= 2x same p99 and < 100 ms).
 * Usage: npm run bench:replicas (needs a PostgreSQL: BENCH_DATABASE_URL, default the local one).
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { PostgresProgressBus } from '../src/events/postgresProgressBus.js';
import type { Orm } from '../src/db/database.js';
import { EventLog } from '../src/events/eventLog.js';
import { guardStatement, type EventGuard } from '../src/events/eventGuard.js';
import { InProcessProgressBus, type ProgressBus } from '../src/events/progressBus.js';
import { startServer } from '../src/server.js';
import type { EventPayloads, EventType, RunDetail, StreamEvent } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const db = await benchDatabase();

type WrittenRow = { id: string; run_id: string | null; seq: number | null; created_at: Date };

/**
 * The service's event log, or while `inProcess` is set the pre-bus one: each event, guarded or not, written
 * by one autocommit statement without the events lock or NOTIFY, and published in memory. Both ways of
 * recording (record and recordIf) switch, so the baseline's run sends no event through the lock + NOTIFY path.
 */
class SwitchableEventLog extends EventLog {
  inProcess = false;
  private readonly memory = new InProcessProgressBus();

  constructor(private readonly database: Orm, bus: ProgressBus) {
    super(database, bus);
  }

  override async record<T extends EventType>(runId: number | null, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
    if (!this.inProcess) return super.record(runId, type, data);
    const [row] = await this.database.em.getConnection().execute<WrittenRow[]>(
      runId === null
        ? `insert into run_events (type, payload) values (?, ?::jsonb) returning id, run_id, seq, created_at`
        : `with next as (update runs set last_seq = last_seq + 1 where id = ? returning id, last_seq)
           insert into run_events (run_id, seq, type, payload) select id, last_seq, ?, ?::jsonb from next returning id, run_id, seq, created_at`,
      runId === null ? [type, JSON.stringify(data)] : [runId, type, JSON.stringify(data)],
      'all',
    );
    return this.published(row!, runId, type, data);
  }

  /** The guarded write and its event in one statement, as the service does, minus the events lock (a no-op `lock` the guard's writes gate on) and the NOTIFY. */
  override async recordIf<T extends EventType>(runId: number, type: T, data: EventPayloads[T], guard: EventGuard): Promise<StreamEvent | undefined> {
    if (!this.inProcess) return super.recordIf(runId, type, data, guard);
    const statement = guardStatement(runId, guard);
    const [row] = await this.database.em.getConnection().execute<WrittenRow[]>(
      `with lock as (select 1), ${statement.ctes},
       next as (update runs set last_seq = last_seq + 1 where id = ? and exists (select 1 from guard) returning id, last_seq)
       insert into run_events (run_id, seq, type, payload)
       select id, last_seq, ?, ?::jsonb${statement.payload ? ` || coalesce((${statement.payload}), '{}'::jsonb)` : ''} from next returning id, run_id, seq, created_at`,
      [...statement.params, runId, type, JSON.stringify(data)],
      'all',
    );
    return row ? this.published(row, runId, type, data) : undefined;
  }

  private published(row: WrittenRow, runId: number | null, type: EventType, data: unknown): StreamEvent {
    const event = { id: Number(row.id), seq: row.seq, runId, type, at: new Date(row.created_at).toISOString(), data } as StreamEvent;
    this.memory.publish(event);
    return event;
  }
}

/** Writes through the service's path (EventLog's own write: the events lock + NOTIFY) while the baseline runs: must stay 0. */
let serviceWritesInBaseline = 0;
/** The bus as the event log sees it, counting the writes it announces (every write of EventLog's own path begins with beginPublish). */
const countingWrites = (bus: ProgressBus): ProgressBus => ({
  beginPublish: () => {
    if (eventLog?.inProcess) serviceWritesInBaseline += 1;
    return bus.beginPublish?.() ?? (() => undefined);
  },
  publish: (event) => bus.publish(event),
  subscribe: (scope, listener) => bus.subscribe(scope, listener),
  watcherCount: (runId) => bus.watcherCount(runId),
  subscriberCount: (stream) => bus.subscriberCount(stream),
  onSubscribersChanged: (listener) => bus.onSubscribersChanged(listener),
});

let eventLog: SwitchableEventLog | undefined;
const server = await startServer(
  loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent', SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 30, pages: 3, eventsPerPage: 5 } }) }),
  {
    logger: process.env.BENCH_DEBUG ? createLogger('error') : silent,
    overrides: { events: (orm, bus) => (eventLog = new SwitchableEventLog(orm, countingWrites(bus))) },
  },
);
const log = eventLog!;

async function run(): Promise<RunDetail> {
  if (process.env.BENCH_DEBUG) console.error("run", new Date().toISOString());
  const created = (await (await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as RunDetail;
  if (!created.id) throw new Error(`POST /api/runs: ${JSON.stringify(created)}`);
  for (;;) {
    const current = (await (await fetch(`${server.url}/api/runs/${created.id}`)).json()) as RunDetail;
    if (current.finishedAt) {
      // Its runner done too (run.finished recorded), so none of its events is written in the next round's mode.
      await server.runs.inFlight.list().find((entry) => entry.runId === created.id)?.done;
      return current;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

try {
  const withBus: number[] = [];
  const withoutBus: number[] = [];
  await run();
  for (let round = 0; round < 8; round++) {
    log.inProcess = false;
    withBus.push((await run()).durationMs!);
    log.inProcess = true;
    withoutBus.push((await run()).durationMs!);
  }
  log.inProcess = false;
  if (serviceWritesInBaseline > 0) throw new Error(`the in-process baseline wrote ${serviceWritesInBaseline} events through the lock + NOTIFY path`);
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
  server.bus.subscribe('global', () => same.push(performance.now() - started));
  other.subscribe('global', () => {
    cross.push(performance.now() - started);
    pending();
  });
  for (let i = 0; i < 500; i++) {
    const arrived = new Promise<void>((resolve) => (pending = resolve));
    started = performance.now();
    await log.record(null, 'scheduler.changed', { scheduler: server.scheduler.state() });
    await arrived;
  }
  await other.stop();
  const f = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms`;
  console.log(`delivery over ${cross.length} events: same-replica ${f(same)}; cross-replica ${f(cross)}; cross p99 / same p99 ${(percentile(cross, 99) / percentile(same, 99)).toFixed(2)} (goal <= 2 and < 100 ms)`);
} finally {
  await server.stop();
  await db.drop();
}
