import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slowFeeds, startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Politeness across replica processes on one database, with the default scrape pool. One run is active at
 * a time, so two scrapes meet on a platform when a run ends while its steps are still scraped: here, a run
 * ended in the database (as a partitioned replica's watchdog would, without the run.finished the others hear)
 * whose steps go on, on A and B, while the next run starts at once and its steps are taken by A and B too.
 * Each step of the next run waits for the previous scrape of its platform to end, wherever both ran, and
 * `minRequestIntervalMs` holds from one to the next. A replica killed while holding platforms does not hold
 * them up: the survivor takes them over.
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

const holders = async () => db.query<{ platform: string; holder: string }>(`select platform, holder from platform_locks where holder is not null`);
const allHeld = async (platforms: string[]) => ((await holders()).length === platforms.length ? true : undefined);

describe('politeness across replicas', () => {
  it("the next run on B waits for each platform still scraped for A's run after it ended elsewhere, on whichever replica, and keeps the spacing", async () => {
    const runA = await startRunOn(a);
    // Its steps are jobs spread over A and B: every platform in flight somewhere.
    await waitFor(() => allHeld(runA.platforms), { what: 'every platform held' });
    const heldAtEnd = new Map((await holders()).map((row) => [row.platform, row.holder]));
    await db.query(`update runs set status = 'failed', failure_reason = 'stale', finished_at = now() where id = $1`, [runA.id]);
    const runB = await startRunOn(b);
    const endB = await waitForRunStatus(b, runB.id, ['completed', 'partial', 'failed'], 60_000);
    expect(endB.status, JSON.stringify(endB.steps.filter((step) => step.status !== 'completed'))).toBe('completed');

    const gaps: string[] = [];
    for (const step of endB.steps) {
      // The end of run A's scrape of the platform, on the replica that held it.
      const holder = [a, b].find((replica) => replica.ownerId === heldAtEnd.get(step.platform))!;
      const ended = holder.logs.find((line) => line.run_id === runA.id && line.platform === step.platform && (line.outcome !== undefined || line.msg === 'platform scrape completed'));
      expect(ended, `${holder.name} ended ${step.platform}`).toBeDefined();
      // B's run's scrape of the platform started only once A's run's had ended (a few ms of clock between the two readings).
      const gapMs = Date.parse(step.startedAt!) - logTime(ended!);
      expect(gapMs, step.platform).toBeGreaterThanOrEqual(step.platform === 'harborline' ? SPACING_MS - 20 : -20);
      gaps.push(`${step.platform} ${gapMs}`);
    }
    expect(await db.query('select platform from platform_locks where holder is not null')).toEqual([]);
    console.info(`[replicas] politeness: run B's steps started after run A's scrape of the same platform ended, by (ms): ${gaps.join(', ')}`);
  });

  it('a replica killed while scraping does not hold its platforms up: the survivor takes its platforms over at once, scrapes them again and completes the run', async () => {
    const runA = await startRunOn(a);
    await waitFor(() => allHeld(runA.platforms), { what: 'every platform held' });
    // The steps are spread over both replicas (which takes what is a race): kill the one holding more platforms.
    const held = await holders();
    const victim = held.filter((row) => row.holder === a.ownerId).length >= held.length / 2 ? a : b;
    const survivor = victim === a ? b : a;
    const heldByVictim = held.filter((row) => row.holder === victim.ownerId).map((row) => row.platform);
    await victim.stop('SIGKILL');
    const endA = await waitForRunStatus(survivor, runA.id, ['completed', 'partial', 'failed'], 60_000);
    expect(endA.status).toBe('completed');
    const takenOver = survivor.logs.find((line) => line.run_id === runA.id && String(line.msg).startsWith('run taken over'));
    // The run itself is taken over when its owner (A) was the one killed.
    if (victim === a) expect(takenOver).toMatchObject({ dead_owner_id: a.ownerId });
    else expect(takenOver).toBeUndefined();
    // Every step ended on the survivor but those the victim had finished; those it was scraping as attempt 2.
    for (const platform of heldByVictim) expect(endA.steps.find((step) => step.platform === platform), platform).toMatchObject({ replica: survivor.ownerId, attempt: 2 });
    const takeovers = survivor.logs.filter((line) => line.msg === 'platform lock taken over from a replica that died while scraping it' && line.holder === victim.ownerId);
    expect(takeovers.map((line) => line.platform).sort()).toEqual([...heldByVictim].sort());
    expect((await MetricsSnapshot.scrape(`${survivor.url}/metrics`)).value('oddswatch_platform_lock_waits_total', { outcome: 'taken_over' })).toBe(heldByVictim.length);
    const lastTakeoverMs = Math.max(...takeovers.map(logTime)) - Math.min(...takeovers.map(logTime));
    expect(lastTakeoverMs).toBeLessThan(2_000);
    console.info(`[replicas] politeness: the survivor of a kill -9'd replica (${victim.name}, ${victim === a ? 'the run\'s owner' : 'not its owner'}) holding ${heldByVictim.length} platforms took them all over within ${lastTakeoverMs} ms of the first`);
  });
});
