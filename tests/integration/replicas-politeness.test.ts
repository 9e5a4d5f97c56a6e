import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slowFeeds, startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Politeness across replica processes on one database, with the default scrape pool. One run is active at
 * a time, so two replicas meet on a platform when a run ends while its owner still scrapes: here, a run
 * ended in the database (as the stale watchdog or an operator on a partitioned replica would) that its
 * owner A learns of only at its next heartbeat (HEARTBEAT_INTERVAL_MS, 5 s), while the next run starts on
 * B at once. B's steps wait for A's to stop, and `minRequestIntervalMs` holds from A's scrape to B's. A
 * replica killed while holding platforms does not hold them up: the next run takes them over.
 */
const SPACING_MS = 400;
let db: TestDatabase;
let a: Replica;
let b: Replica;

const logTime = (line: Record<string, unknown>) => (typeof line.time === 'number' ? line.time : Date.parse(String(line.time)));

beforeAll(async () => {
  db = await createTestDatabase();
  // Every platform ~6 s (20 pages of 300 ms): still in flight on A when B's run starts; harborline asks for 400 ms between requests.
  const feeds = JSON.parse(slowFeeds(300, 20, 2)) as Record<string, Record<string, unknown>>;
  feeds.harborline = { minRequestIntervalMs: SPACING_MS };
  const env = { SIM_FEEDS: JSON.stringify(feeds) };
  [a, b] = await Promise.all([startReplica('A', db.url, env), startReplica('B', db.url, env)]);
}, 120_000);
afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((replica) => replica.stop('SIGKILL')));
  await db?.drop();
});

const heldBy = async (replica: Replica) => (await db.query<{ n: number }>(`select count(*)::int as n from platform_locks where holder = $1`, [replica.ownerId]))[0]!.n;

describe('politeness across replicas', () => {
  it("the next run on B waits for each platform A still scrapes after A's run ended elsewhere, and keeps the spacing", async () => {
    const runA = await startRunOn(a);
    await waitFor(async () => ((await heldBy(a)) === runA.platforms.length ? true : undefined), { what: 'A holding every platform' });
    await db.query(`update runs set status = 'failed', failure_reason = 'stale', finished_at = now() where id = $1`, [runA.id]);
    const runB = await startRunOn(b);
    const endB = await waitForRunStatus(b, runB.id, ['completed', 'partial', 'failed'], 60_000);
    expect(endB.status, JSON.stringify(endB.steps.filter((step) => step.status !== 'completed'))).toBe('completed');

    const gaps: string[] = [];
    for (const step of endB.steps) {
      expect(step.replica).toBe(b.ownerId);
      // A's scrape, aborted by its runner once its heartbeat found the run ended.
      const stopped = a.logs.find((line) => line.run_id === runA.id && line.platform === step.platform && line.outcome === 'aborted');
      expect(stopped, `A stopped ${step.platform}`).toBeDefined();
      // B's scrape of the platform started only once A's had stopped (a few ms of clock between the two readings).
      const gapMs = Date.parse(step.startedAt!) - logTime(stopped!);
      expect(gapMs, step.platform).toBeGreaterThanOrEqual(step.platform === 'harborline' ? SPACING_MS - 20 : -20);
      gaps.push(`${step.platform} ${gapMs}`);
    }
    // Every step of B waited for A: logged with A as the holder, and counted by B.
    const waits = b.logs.filter((line) => line.msg === 'platform is being scraped by another replica: this step waits for its turn' && line.holder === a.ownerId);
    expect(new Set(waits.map((line) => line.platform)).size).toBe(runB.platforms.length);
    expect((await MetricsSnapshot.scrape(`${b.url}/metrics`)).value('oddswatch_platform_lock_waits_total', { outcome: 'freed' })).toBe(runB.platforms.length);
    expect(await db.query('select platform from platform_locks where holder is not null')).toEqual([]);
    console.info(`[replicas] politeness: B's steps started after A's scrape of the same platform stopped, by (ms): ${gaps.join(', ')}`);
  });

  it('a replica killed while scraping does not hold its platforms up: the replica that takes its run over takes its platforms at once and completes it', async () => {
    const runA = await startRunOn(a);
    await waitFor(async () => ((await heldBy(a)) === runA.platforms.length ? true : undefined), { what: 'A holding every platform' });
    await a.stop('SIGKILL');
    const endA = await waitForRunStatus(b, runA.id, ['completed', 'partial', 'failed'], 60_000);
    expect(endA.status).toBe('completed');
    const takenOver = b.logs.find((line) => line.run_id === runA.id && String(line.msg).startsWith('run taken over'));
    expect(takenOver).toMatchObject({ dead_owner_id: a.ownerId });
    // Every step ended on B: those A was scraping as attempt 2, any A held the lock of but had not started yet as attempt 1.
    for (const step of endA.steps) expect(step.replica, step.platform).toBe(b.ownerId);
    expect(endA.steps.filter((step) => step.attempt === 2).length).toBeGreaterThan(0);
    const takeovers = b.logs.filter((line) => line.msg === 'platform lock taken over from a replica that died while scraping it' && line.holder === a.ownerId);
    expect(takeovers.length).toBe(runA.platforms.length);
    expect((await MetricsSnapshot.scrape(`${b.url}/metrics`)).value('oddswatch_platform_lock_waits_total', { outcome: 'taken_over' })).toBe(runA.platforms.length);
    const lastTakeoverMs = Math.max(...takeovers.map(logTime)) - logTime(takenOver!);
    expect(lastTakeoverMs).toBeLessThan(2_000);
    console.info(`[replicas] politeness: the replica that took over the run of a kill -9'd replica holding ${runA.platforms.length} platforms took them all over within ${lastTakeoverMs} ms`);
  });
});
