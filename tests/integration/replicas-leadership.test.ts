import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Leadership, type LeadershipOptions } from '../../src/replicas/leadership.js';
import { capturingLogger, terminateBackends } from '../helpers/replicas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

let db: TestDatabase;
let running: Leadership[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(running.map((leadership) => leadership.stop()));
  running = [];
});
afterAll(async () => {
  await db?.drop();
});

function replica(name: string, overrides: Partial<LeadershipOptions> = {}) {
  const log = capturingLogger('warn');
  const events: string[] = [];
  const leadership = new Leadership({
    databaseUrl: db.url,
    applicationName: name,
    logger: log.logger,
    lockName: `test-leader-${db.name}`,
    onLeader: () => events.push('leader'),
    onFollower: () => events.push('follower'),
    ...overrides,
  });
  running.push(leadership);
  return { leadership, events, lines: log.lines };
}

describe('scheduler leadership', () => {
  it('has one leader; a follower takes over within the retry interval when the leader backend is terminated', async () => {
    const a = replica('leader-a');
    const b = replica('leader-b');
    await a.leadership.start();
    await b.leadership.start();
    expect(a.leadership.isLeader()).toBe(true);
    expect(b.leadership.isLeader()).toBe(false);

    const cutAt = performance.now();
    expect(await terminateBackends(db.url, 'leader-a')).toBe(1);
    await waitFor(() => !a.leadership.isLeader(), { timeoutMs: 1_000, what: 'the old leader to step down' });
    const steppedDownMs = performance.now() - cutAt;
    await waitFor(() => b.leadership.isLeader(), { timeoutMs: 5_000, intervalMs: 5, what: 'the takeover' });
    const takeoverMs = performance.now() - cutAt;
    console.log(`leader stepped down ${steppedDownMs.toFixed(0)} ms after its backend was terminated; takeover after ${takeoverMs.toFixed(0)} ms (retry interval 2,000 ms)`);
    expect(takeoverMs).toBeLessThan(2_000 + 500);
    expect(a.events).toEqual(['leader', 'follower']);
    expect(b.events).toEqual(['leader']);
    expect(b.leadership.changes).toBe(1);
    expect(b.lines.some((line) => line.level === 40 && String(line.msg).includes('now the scheduler leader'))).toBe(true);
    expect(a.lines.some((line) => line.level === 40 && String(line.msg).includes('lost its database session'))).toBe(true);

    // The old leader reconnects as a follower and does not take the lock back.
    await waitFor(async () => (await db.query(`select 1 from pg_stat_activity where application_name = 'leader-a'`)).length === 1, { what: 'a reconnected' });
    expect(a.leadership.isLeader()).toBe(false);
  });

  it('hands over when the leader stops cleanly', async () => {
    const a = replica('stop-a', { retryIntervalMs: 300 });
    const b = replica('stop-b', { retryIntervalMs: 300 });
    await a.leadership.start();
    await b.leadership.start();
    await a.leadership.stop();
    expect(a.leadership.isLeader()).toBe(false);
    await waitFor(() => b.leadership.isLeader(), { timeoutMs: 2_000, what: 'takeover after a clean stop' });
  });

  it('never has two leaders at a sampled moment through churn of starts, stops and terminated sessions', async () => {
    const options = { retryIntervalMs: 200, checkIntervalMs: 100 };
    const pool = [replica('churn-0', options), replica('churn-1', options), replica('churn-2', options)];
    for (const member of pool) await member.leadership.start();
    let samples = 0;
    let maxLeaders = 0;
    let leaderlessSamples = 0;
    const sampler = setInterval(() => {
      const leaders = pool.filter((member) => member.leadership.isLeader()).length;
      samples++;
      maxLeaders = Math.max(maxLeaders, leaders);
      if (leaders === 0) leaderlessSamples++;
    }, 50);
    try {
      for (let round = 0; round < 12; round++) {
        const roundStart = samples;
        await waitFor(() => samples >= roundStart + 4, { what: 'a few samples in this round' });
        const current = await waitFor(() => pool.find((member) => member.leadership.isLeader()), { timeoutMs: 5_000, what: `a leader in round ${round}` });
        const index = pool.indexOf(current);
        if (round % 3 === 2) {
          await terminateBackends(db.url, `churn-${index}`);
        } else {
          await current.leadership.stop();
          running.splice(running.indexOf(current.leadership), 1);
          pool[index] = replica(`churn-${index}`, options);
          await pool[index].leadership.start();
        }
      }
      await waitFor(() => pool.some((member) => member.leadership.isLeader()), { timeoutMs: 5_000, what: 'a final leader' });
    } finally {
      clearInterval(sampler);
    }
    console.log(`churn: ${samples} samples every 50 ms, at most ${maxLeaders} leader(s) at once, ${leaderlessSamples} samples without a leader`);
    expect(samples).toBeGreaterThan(10); // the sampler ran throughout (fewer than one per 50 ms on a loaded machine)
    expect(maxLeaders).toBe(1);
  });
});
