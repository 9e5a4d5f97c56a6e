import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventListener, toStreamEvent } from '../../src/events/eventListener.js';
import { insertEventAndNotify } from '../../src/events/eventPublisher.js';
import { pgExecutor } from '../../src/db/sqlExecutor.js';
import type { StreamEvent } from '../../src/shared/contract.js';
import { publishEvent } from '../helpers/publishEvent.js';
import { capturingLogger, migrate, percentile, terminateBackends } from '../helpers/replicas.js';
import { createTestDatabase, teardownTolerantPool, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

let db: TestDatabase;
let pool: pg.Pool;
let runId: number;
const listeners: EventListener[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.url);
  pool = teardownTolerantPool(db.url, 12);
  const [run] = await db.query<{ id: string }>(`insert into runs (status, trigger, platforms) values ('running', 'api', '{}') returning id`);
  runId = Number(run!.id);
});
afterAll(async () => {
  for (const listener of listeners) await listener.stop();
  await pool?.end();
  await db?.drop();
});

function listen(name: string, overrides: Partial<ConstructorParameters<typeof EventListener>[0]> = {}) {
  const received: StreamEvent[] = [];
  const log = capturingLogger('warn');
  const listener = new EventListener({
    databaseUrl: db.url,
    applicationName: name,
    logger: log.logger,
    afterId: 'latest',
    onEvent: (event) => received.push(event),
    backoffInitialMs: 20,
    backoffMaxMs: 200,
    ...overrides,
  });
  listeners.push(listener);
  return { listener, received, lines: log.lines };
}

/** One writer: transactions with random delays before and after the insert; about one in five rolls back. */
async function writer(count: number, committed: number[], tag: string): Promise<void> {
  const client = await pool.connect();
  try {
    for (let i = 0; i < count; i++) {
      await client.query('begin');
      await delay(Math.random() * 4);
      const row = await insertEventAndNotify(pgExecutor(client), i % 2 ? runId : null, 'platform.progress', { tag, i });
      await delay(Math.random() * 8);
      if (Math.random() < 0.2) {
        await client.query('rollback');
      } else {
        await client.query('commit');
        committed.push(Number(row.id));
      }
    }
  } finally {
    client.release();
  }
}

function expectExactlyOnceInOrder(received: StreamEvent[], committed: number[]) {
  const ids = received.map((event) => event.id);
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
  expect(ids).toEqual([...committed].sort((a, b) => a - b));
}

describe('PostgreSQL progress bus', () => {
  it('delivers every committed event exactly once, in id order, to every listener, under concurrent writers that roll back', async () => {
    const a = listen('replicas-events-a');
    const b = listen('replicas-events-b');
    await Promise.all([a.listener.start(), b.listener.start()]);
    const committed: number[] = [];
    await Promise.all(Array.from({ length: 6 }, (_, w) => writer(40, committed, `w${w}`)));
    expect(committed.length).toBeGreaterThan(100);
    await waitFor(() => a.received.length >= committed.length && b.received.length >= committed.length, { what: 'both listeners caught up' });
    expectExactlyOnceInOrder(a.received, committed);
    expectExactlyOnceInOrder(b.received, committed);
    expect(a.received.filter((event) => event.runId === runId).every((event) => event.seq !== null)).toBe(true);
    await Promise.all([a.listener.stop(), b.listener.stop()]);
  });

  it('loses nothing and duplicates nothing when its listening connection is terminated while writers write', async () => {
    const { listener, received, lines } = listen('replicas-events-reconnect');
    await listener.start();
    const committed: number[] = [];
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 3 }, async (_, w) => {
        while (writing) {
          const row = await publishEvent(pool, w === 0 ? runId : null, 'platform.progress', { w });
          committed.push(Number(row.id));
          await delay(2);
        }
      }),
    );
    for (let cut = 1; cut <= 3; cut++) {
      await waitFor(() => listener.connected && received.length > committed.length / 2 && committed.length > cut * 40, { what: 'events flowing' });
      expect(await terminateBackends(db.url, 'replicas-events-reconnect')).toBe(1);
      await waitFor(() => listener.reconnects === cut, { what: `reconnect ${cut}` });
    }
    writing = false;
    await writers;
    await waitFor(() => received.length >= committed.length, { what: 'catch-up after reconnects' });
    expectExactlyOnceInOrder(received, committed);
    expect(listener.reconnects).toBe(3);
    expect(lines.filter((line) => line.level === 40 && String(line.msg).includes('reconnected'))).toHaveLength(3);
  });

  it('notices a session that no longer listens (periodic check) and reconnects', async () => {
    const onReconnect: number[] = [];
    const { listener, received } = listen('replicas-events-check', { checkIntervalMs: 100, pollIntervalMs: 60_000, onReconnect: () => onReconnect.push(Date.now()) });
    await listener.start();
    // The session silently stops listening: no error, no notification; only the check can tell.
    await (listener as unknown as { session: { client: pg.Client } }).session.client.query('unlisten *');
    await waitFor(() => onReconnect.length === 1, { what: 'reconnect after the check' });
    const row = await publishEvent(pool, null, 'platform.progress', { after: 'check' });
    await waitFor(() => received.some((event) => event.id === Number(row.id)), { what: 'event after the reconnect' });
  });

  it('measures commit (NOTIFY) to callback latency over 1,000 events on loopback', async () => {
    const latencies: number[] = [];
    const committingAt = new Map<number, number>();
    const { listener } = listen('replicas-events-latency', {
      onEvent: (event) => latencies.push(performance.now() - committingAt.get(event.id)!),
    });
    await listener.start();
    const client = await pool.connect();
    for (let i = 0; i < 1_000; i++) {
      await client.query('begin');
      const row = await insertEventAndNotify(pgExecutor(client), null, 'platform.progress', { i });
      committingAt.set(Number(row.id), performance.now());
      await client.query('commit');
    }
    client.release();
    await waitFor(() => latencies.length === 1_000, { what: '1,000 events' });
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    console.log(`notify-to-callback latency over 1,000 events: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`);
    expect(p50).toBeLessThan(50);
    expect(p99).toBeLessThan(250);
  });

  describe("this process's own events", () => {
    /** Reads of run_events by the listener session named `applicationName` while `body` runs. */
    async function countingReads(applicationName: string, body: () => Promise<void>): Promise<number> {
      let reads = 0;
      const original = pg.Client.prototype.query;
      pg.Client.prototype.query = function (this: pg.Client & { connectionParameters?: { application_name?: string } }, ...args: unknown[]) {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
        const ours = this.connectionParameters?.application_name === applicationName;
        if (ours && text?.startsWith('select id, run_id, seq, type, payload, created_at from run_events')) reads += 1;
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof original;
      try {
        await body();
      } finally {
        pg.Client.prototype.query = original;
      }
      return reads;
    }

    it('are delivered from their offers, in order and once, without reading them back', async () => {
      const { listener, received } = listen('own-offers', { pollIntervalMs: 60_000 });
      await listener.start();
      const reads = await countingReads('own-offers', async () => {
        // 10 writers at a time: replies and notifications overtake each other.
        for (let wave = 0; wave < 5; wave += 1) {
          await Promise.all(
            Array.from({ length: 10 }, async () => {
              const release = listener.expectLocal();
              let row;
              try {
                row = await publishEvent(pool, null, 'scheduler.changed', { wave });
              } finally {
                release();
              }
              listener.offer(toStreamEvent(row));
            }),
          );
        }
        await waitFor(() => received.length === 50, { what: '50 events delivered' });
      });
      const ids = received.map((event) => event.id);
      expect(new Set(ids).size).toBe(50);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids.at(-1)! - ids[0]!).toBe(49);
      expect(reads).toBeLessThanOrEqual(2);
    });

    it('fill a gap left by a rolled-back writer with a read after the grace', async () => {
      const { listener, received } = listen('own-gap', { pollIntervalMs: 60_000 });
      await listener.start();
      const client = await pool.connect();
      try {
        await client.query('begin');
        await insertEventAndNotify(pgExecutor(client), null, 'scheduler.changed', { rolledBack: true }); // consumes an id
        await client.query('rollback');
      } finally {
        client.release();
      }
      const release = listener.expectLocal();
      const row = await publishEvent(pool, null, 'scheduler.changed', { after: 'gap' });
      release();
      listener.offer(toStreamEvent(row));
      await waitFor(() => received.some((event) => event.id === Number(row.id)), { timeoutMs: 2_000, what: 'the event after the gap' });
      expect(received.filter((event) => event.id === Number(row.id))).toHaveLength(1);
    });
  });
});
