import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaPresence, type LocalCounts } from '../../src/replicas/presence.js';
import { pgExecutor } from '../../src/db/sqlExecutor.js';
import { capturingLogger, migrate } from '../helpers/replicas.js';
import { createTestDatabase, teardownTolerantPool, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.url);
  pool = teardownTolerantPool(db.url, 4);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function replica(replicaId: string, timing: { refreshMs: number; leaseMs?: number; changeSpacingMs?: number }) {
  const counts: { global: number; runs: Map<number, number> } = { global: 0, runs: new Map() };
  const writes = { upserts: 0 };
  const execute = pgExecutor(pool);
  const counting: typeof execute = (sql, params) => {
    if (sql.startsWith('insert into replica_presence')) writes.upserts += 1;
    return execute(sql, params);
  };
  const presence = new ReplicaPresence({ execute: counting, replicaId, counts: (): LocalCounts => counts, logger: capturingLogger().logger, ...timing });
  return { presence, counts, writes };
}

describe('watchers across replicas', () => {
  it('sums run-stream and global-stream subscribers of every live replica', async () => {
    const a = replica('sum-a', { refreshMs: 100 });
    const b = replica('sum-b', { refreshMs: 100 });
    a.counts.runs.set(7, 2);
    b.counts.global = 1;
    b.counts.runs.set(8, 5);
    await a.presence.start();
    await b.presence.start();
    expect(await a.presence.watchersOf(7)).toBe(3); // 2 on A's run stream + 1 global on B
    expect(await b.presence.watchersOf(8)).toBe(5 + 1);
    expect(await a.presence.watchersOf(9)).toBe(1);
    expect(await a.presence.remoteWatchersOf(7)).toBe(1);
    expect(await b.presence.remoteWatchersOf(7)).toBe(2);

    b.counts.global = 0;
    await waitFor(async () => (await a.presence.watchersOf(7)) === 2, { what: "B's refresh" });
    a.counts.runs.delete(7);
    await a.presence.publish();
    expect(await b.presence.watchersOf(7)).toBe(0);

    await b.presence.stop();
    expect(await db.query(`select replica_id from replica_presence where replica_id = 'sum-b'`)).toEqual([]);
    await a.presence.stop();
  });

  it("stops counting a dead replica's watchers once its lease passes", async () => {
    const alive = replica('lease-alive', { refreshMs: 100, leaseMs: 300 });
    const dead = replica('lease-dead', { refreshMs: 100, leaseMs: 300 });
    dead.counts.runs.set(11, 4);
    await alive.presence.start();
    await dead.presence.start();
    expect(await alive.presence.watchersOf(11)).toBe(4);
    // The replica dies: no more refreshes, and nobody deletes its row.
    clearInterval((dead.presence as unknown as { timer: NodeJS.Timeout }).timer);
    const diedAt = performance.now();
    await waitFor(async () => (await alive.presence.watchersOf(11)) === 0, { timeoutMs: 3_000, intervalMs: 10, what: 'the lease to pass' });
    const goneAfterMs = performance.now() - diedAt;
    console.log(`a dead replica's watchers stopped counting ${goneAfterMs.toFixed(0)} ms after its last refresh (lease 300 ms)`);
    expect(goneAfterMs).toBeLessThan(300 + 500);
    // Its row is still there (a replica that comes back with the same id simply refreshes it).
    expect(await db.query(`select 1 from replica_presence where replica_id = 'lease-dead'`)).toHaveLength(1);
    await alive.presence.stop();
  });

  it('keeps refreshing after a failed publish, logging it at warn', async () => {
    const log = capturingLogger();
    let fail = true;
    const execute = pgExecutor(pool);
    const presence = new ReplicaPresence({
      execute: (sql, params) => (fail && sql.startsWith('insert') ? Promise.reject(new Error('database unavailable')) : execute(sql, params)),
      replicaId: 'flaky',
      counts: () => ({ global: 2, runs: new Map() }),
      logger: log.logger,
      refreshMs: 50,
    });
    await presence.start();
    expect(log.lines.some((line) => line.level === 40 && String(line.msg).includes('could not publish'))).toBe(true);
    expect(await presence.watchersOf(1)).toBe(0);
    fail = false;
    await waitFor(async () => (await presence.watchersOf(1)) === 2, { what: 'the next refresh' });
    await presence.stop();
  });

  it('writes a storm of subscription changes at most once per spacing, ending with the last counts', async () => {
    const storm = replica('storm', { refreshMs: 60_000, changeSpacingMs: 200 });
    await storm.presence.start();
    const before = storm.writes.upserts;
    const started = performance.now();
    // 2,000 dashboards connecting over about 600 ms, one subscription change each.
    for (let index = 1; index <= 2_000; index += 1) {
      storm.counts.global = index;
      storm.presence.changed();
      if (index % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const elapsed = performance.now() - started;
    await waitFor(
      async () => Number((await db.query<{ n: number }>(`select global_subscribers as n from replica_presence where replica_id = 'storm'`))[0]?.n) === 2_000,
      { what: 'the last count written' },
    );
    const writes = storm.writes.upserts - before;
    expect(writes).toBeGreaterThanOrEqual(2);
    expect(writes).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 2);
    await storm.presence.stop();
  });
});
