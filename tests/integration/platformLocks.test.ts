import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/db/applyMigrations.js';
import { DEFAULT_DATABASE_TIMEOUTS } from '../../src/db/ormConfig.js';
import { pgExecutor } from '../../src/db/sqlExecutor.js';
import { OwnerLiveness } from '../../src/replicas/ownerLiveness.js';
import { PlatformLocks } from '../../src/runs/platformLocks.js';
import { ScrapePool } from '../../src/runs/scrapePool.js';
import { capturingLogger } from '../helpers/replicas.js';
import { createTestDatabase, teardownTolerantPool, type TestDatabase } from '../helpers/testDatabase.js';

/**
 * The platform locks of two replicas (two PlatformLocks with their own ids and liveness sessions) on one
 * real PostgreSQL: one scrape per platform at a time, its spacing kept from one to the next, a dead
 * holder's lock taken over at once. The same across real replica processes: replicas-politeness.test.ts.
 */
let db: TestDatabase;
let pool: pg.Pool;
const held: OwnerLiveness[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await applyMigrations(db.url, capturingLogger('silent').logger, DEFAULT_DATABASE_TIMEOUTS);
  pool = teardownTolerantPool(db.url, 4);
}, 60_000);
afterAll(async () => {
  await Promise.all(held.map((liveness) => liveness.release()));
  await pool?.end();
  await db?.drop();
});

async function replica(ownerId: string, spacingMs = 0) {
  const liveness = await OwnerLiveness.hold(db.url, ownerId);
  held.push(liveness);
  const log = capturingLogger('info');
  const waits: string[] = [];
  const locks = new PlatformLocks({
    execute: pgExecutor(pool),
    ownerId,
    liveness,
    spacingOf: () => spacingMs,
    logger: log.logger,
    onWaited: (outcome) => waits.push(outcome),
    pollMs: 50,
  });
  return { ownerId, liveness, locks, waits, lines: log.lines };
}

const holderOf = async (platform: string) => (await db.query<{ holder: string | null }>('select holder from platform_locks where platform = $1', [platform]))[0]?.holder ?? null;

describe('platform locks across replicas', () => {
  it('a platform held by one live replica waits on another until it is released, then goes on', async () => {
    const a = await replica('locks-a');
    const b = await replica('locks-b');
    const releaseA = await a.locks.take('northwind');
    expect(await holderOf('northwind')).toBe('locks-a');

    let bHolds = false;
    const taking = b.locks.take('northwind').then((release) => {
      bHolds = true;
      return release;
    });
    // B asks at least 4 times (every 50 ms) and keeps waiting while A, alive, holds it.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(bHolds).toBe(false);
    expect(b.lines.some((line) => line.msg === 'platform is being scraped by another replica: this step waits for its turn' && line.holder === 'locks-a')).toBe(true);

    // Another platform is free meanwhile.
    const releaseOther = await b.locks.take('luckyowl');
    await releaseOther();

    await releaseA();
    const releaseB = await taking;
    expect(await holderOf('northwind')).toBe('locks-b');
    expect(b.waits).toEqual(['freed']);
    await releaseB();
    expect(await holderOf('northwind')).toBeNull();
  });

  it("keeps the platform's spacing between one replica's scrape and the next replica's", async () => {
    const a = await replica('spacing-a', 400);
    const b = await replica('spacing-b', 400);
    const release = await a.locks.take('harborline');
    await release();
    const releasedAt = performance.now();
    const releaseB = await b.locks.take('harborline');
    const gapMs = performance.now() - releasedAt;
    await releaseB();
    // 400 ms from the release on the database clock (a few ms before `releasedAt` here).
    expect(gapMs).toBeGreaterThanOrEqual(380);
    expect(gapMs).toBeLessThan(1_500);
    // No spacing is owed once it has passed.
    await new Promise((resolve) => setTimeout(resolve, 450));
    const since = performance.now();
    await (await a.locks.take('harborline'))();
    expect(performance.now() - since).toBeLessThan(300);
  });

  it('takes the lock over at once from a replica that died holding it (its liveness lock is gone)', async () => {
    const dead = await replica('dying');
    const b = await replica('survivor');
    await dead.locks.take('redfox');
    await dead.liveness.release(); // the process's session ends, as when it is killed
    const since = performance.now();
    const release = await b.locks.take('redfox');
    expect(performance.now() - since).toBeLessThan(1_000);
    expect(b.waits).toEqual(['taken_over']);
    expect(b.lines.find((line) => line.msg === 'platform lock taken over from a replica that died while scraping it')).toMatchObject({ platform: 'redfox', holder: 'dying', level: 40 });
    expect(await holderOf('redfox')).toBe('survivor');
    await release();
  });

  it('a step whose run is aborted stops waiting at once, without the lock', async () => {
    const a = await replica('abort-a');
    const b = await replica('abort-b');
    const releaseA = await a.locks.take('silverstake');
    const controller = new AbortController();
    const taking = b.locks.take('silverstake', controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 120));
    controller.abort();
    await (await taking)();
    expect(await holderOf('silverstake')).toBe('abort-a');
    await releaseA();
  });

  it("two replicas' scrape pools never run one platform at once, and each still runs other platforms meanwhile", async () => {
    const a = await replica('pool-a');
    const b = await replica('pool-b');
    const poolA = new ScrapePool(10, { locks: a.locks });
    const poolB = new ScrapePool(10, { locks: b.locks });
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const scrape = (platform: string, ms: number) => async () => {
      inFlight.set(platform, (inFlight.get(platform) ?? 0) + 1);
      if (inFlight.get(platform)! > 1) overlaps += 1;
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight.set(platform, inFlight.get(platform)! - 1);
    };
    const platforms = ['p1', 'p2', 'p3', 'p4'];
    const since = performance.now();
    await Promise.all([...platforms.map((name) => poolA.run(name, scrape(name, 150))), ...platforms.map((name) => poolB.run(name, scrape(name, 150)))]);
    const tookMs = performance.now() - since;
    expect(overlaps).toBe(0);
    // Each platform twice, one after the other (2 x 150 ms), all platforms side by side: well under 8 x 150 ms.
    expect(tookMs).toBeGreaterThanOrEqual(300);
    expect(tookMs).toBeLessThan(900);
    expect(await db.query('select platform from platform_locks where holder is not null')).toEqual([]);
  });
});
