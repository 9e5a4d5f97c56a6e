import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { leaderGauges, slowFeeds, startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { terminateBackends } from '../helpers/replicas.js';
import { waitFor } from '../helpers/waitFor.js';
import type { RunDetail, SchedulerState } from '../../src/shared/contract.js';

/**
 * Three built service processes (A, B, C) on one database, as three replicas behind a load balancer
 * would run: events, watchers, the scheduler and failover across them. Figures go to the log.
 */
let db: TestDatabase;
const replicas: Replica[] = [];
let a: Replica;
let b: Replica;
let c: Replica;

/**
 * Runs of about 4.5 s (every platform in flight at once, 18 pages of 250 ms): a dropped watcher's grace
 * (1.5 s) plus the guard's remote re-read ends well before the platforms do.
 */
const REPLICA_ENV = { CONNECTION_GRACE_MS: '1500', SIM_FEEDS: slowFeeds(250, 18, 4) };

beforeAll(async () => {
  db = await createTestDatabase();
  // One at a time: the first applies the migrations.
  a = await startReplica('A', db.url, REPLICA_ENV);
  b = await startReplica('B', db.url, REPLICA_ENV);
  c = await startReplica('C', db.url, REPLICA_ENV);
  replicas.push(a, b, c);
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
  await db?.drop();
});

const dbEventsOf = async (runId: number) =>
  db.query<{ id: string; seq: number; type: string }>('select id, seq, type from run_events where run_id = $1 order by seq', [runId]);

function expectInOrderNoGap(received: number[], expected: number[]): void {
  expect(received).toEqual(expected);
  expect(new Set(received).size).toBe(received.length);
}

describe('three replicas on one database', () => {
  it('a run started on A reaches B\'s run stream and C\'s global stream: every event, in order, once', async () => {
    const global = await connectSse(`${c.url}/api/events`);
    const run = await startRunOn(a);
    const runStream = await connectSse(`${b.url}/api/runs/${run.id}/events`);
    await runStream.ended; // the run stream ends after run.finished
    await global.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 30_000);
    global.close();

    const stored = await dbEventsOf(run.id);
    expect(stored.at(-1)?.type).toBe('run.finished');
    expectInOrderNoGap(runStream.events.map((event) => Number(event.id)), stored.map((event) => event.seq));
    const globalIds = global.events.filter((event) => event.data.runId === run.id).map((event) => Number(event.id));
    expectInOrderNoGap(globalIds, stored.map((event) => Number(event.id)));
  });

  it('an observed run on A watched only through B completes; when B\'s watcher drops it ends connection_failed after the grace', async () => {
    const first = await startRunOn(a, { observe: true });
    const watcher = await connectSse(`${b.url}/api/runs/${first.id}/events`);
    await watcher.ended;
    expect((await waitForRunStatus(c, first.id, ['completed', 'partial', 'failed', 'connection_failed'])).status).toBe('completed');

    const second = await startRunOn(a, { observe: true });
    const dropping = await connectSse(`${b.url}/api/runs/${second.id}/events`);
    await dropping.waitForEvent((event) => event.data.type === 'platform.started', 20_000);
    const droppedAt = Date.now();
    dropping.close();
    const ended = await waitForRunStatus(a, second.id, ['completed', 'partial', 'failed', 'connection_failed'], 30_000);
    expect(ended.status).toBe('connection_failed');
    // Lost while every platform was still in flight on A: stopped there, not left to finish.
    for (const step of ended.steps) expect(step, step.platform).toMatchObject({ status: 'failed', error: 'stopped: the run lost its watchers' });
    const lostLine = await waitFor(() => a.logs.find((line) => line.run_id === second.id && line.actor === 'connection_guard' && line.level === 'warn'), { what: 'the connection guard\'s warning on A' });
    expect(lostLine).toMatchObject({ status: 'connection_failed', platforms_done: [] });
    console.info(`[replicas] connection_failed ${Date.parse(ended.finishedAt!) - droppedAt} ms after the only (remote) watcher dropped (grace 1500 ms)`);
  });

  it('pause, interval and run-now work through any replica; GET /api/scheduler answers the same on every replica', async () => {
    const paused = await b.api('/api/scheduler/pause', { method: 'POST' });
    expect(paused.status).toBe(200);
    const patched = await c.api('/api/scheduler/jobs/detect_stale_runs', { method: 'PATCH', json: { intervalSeconds: 77 } });
    expect(patched.status).toBe(200);
    const states = () => Promise.all(replicas.map((replica) => replica.api('/api/scheduler').then((response) => response.json() as Promise<SchedulerState>)));
    await waitFor(async () => {
      const [first, ...rest] = await states();
      return rest.every((state) => JSON.stringify(state) === JSON.stringify(first)) && first?.paused === true ? first : undefined;
    }, { timeoutMs: 10_000, what: 'the same scheduler state on every replica' });
    const [state] = await states();
    expect(state!.jobs.find((job) => job.id === 'detect_stale_runs')?.intervalSeconds).toBe(77);
    await a.api('/api/scheduler/resume', { method: 'POST' });
    const runNow = await c.api('/api/scheduler/jobs/scrape_all_platforms/run', { method: 'POST' });
    expect(runNow.status).toBeLessThan(300);
    const { run } = (await runNow.json()) as { run: { id: number } };
    await waitForRunStatus(a, run.id, ['completed', 'partial', 'failed']);
  });

  it('a replica whose LISTEN session is terminated mid-run reconnects and its subscribers get every event', async () => {
    const global = await connectSse(`${b.url}/api/events`);
    const run = await startRunOn(a);
    await global.waitForEvent((event) => event.data.type === 'platform.progress' && event.data.runId === run.id, 20_000);
    expect(await terminateBackends(db.url, `oddswatch-listener-${b.ownerId}`)).toBe(1);
    await global.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 30_000);
    global.close();
    const stored = await dbEventsOf(run.id);
    const received = global.events.filter((event) => event.data.runId === run.id).map((event) => Number(event.id));
    expectInOrderNoGap(received, stored.map((event) => Number(event.id)));
    const metrics = await fetch(`${b.url}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/^oddswatch_bus_reconnects_total(\{[^}]*\})? 1$/m);
  });

  it('kill -9 the replica executing a run: a survivor takes it over within seconds, the steps it was scraping are scraped again elsewhere (attempt 2), and the run completes; watchers elsewhere get every event', async () => {
    const doomed = await startReplica('D', db.url);
    replicas.push(doomed);
    const watcher: SseClient = await connectSse(`${c.url}/api/events`);
    const run = await startRunOn(doomed);
    // Its steps are jobs spread over the replicas (D looks first, but under load the others may take them all):
    // kill D once it scrapes one, or once every step has started elsewhere.
    const doomedSteps = await waitFor(
      async () => {
        const detail = (await (await c.api(`/api/runs/${run.id}`)).json()) as RunDetail;
        const mine = detail.steps.filter((step) => step.status === 'running' && step.replica === doomed.ownerId).map((step) => step.platform);
        const allStarted = detail.steps.every((step) => step.status !== 'pending');
        return mine.length > 0 || allStarted ? mine : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: 'a step running on D, or every step started' },
    );
    const killedAt = Date.now();
    doomed.process.kill('SIGKILL');
    // The first sign of the take-over on C's stream: a step of D's scraped again, else the run's end by its new owner.
    const retried = await watcher.waitForEvent(
      (event) => event.data.runId === run.id && ((event.data.type === 'platform.started' && event.data.data.attempt === 2) || (doomedSteps.length === 0 && event.data.type === 'run.finished')),
      20_000,
    );
    const takeOverMs = Date.now() - killedAt;
    const finished = await watcher.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 30_000);
    watcher.close();
    expect(finished.data.type === 'run.finished' && finished.data.data.status).toBe('completed');

    const ended = await waitForRunStatus(b, run.id, ['completed']);
    const survivors = new Set(replicas.filter((replica) => replica !== doomed).map((replica) => replica.ownerId));
    // Those D was scraping: attempt 2, on a survivor; the others, attempt 1, wherever they ran (D finished some).
    const again = ended.steps.filter((step) => step.attempt === 2);
    expect(again.map((step) => step.platform).sort()).toEqual(expect.arrayContaining([...doomedSteps].sort()));
    for (const step of ended.steps) {
      expect(step.status, step.platform).toBe('completed');
      expect([1, 2], step.platform).toContain(step.attempt);
      if (step.attempt === 2) expect(survivors, step.platform).toContain(step.replica);
    }
    if (doomedSteps.length > 0) expect(survivors).toContain(retried.data.type === 'platform.started' && retried.data.data.replica);
    // The run itself (its heartbeat, its end) was taken over by one survivor.
    const taker = replicas.find((replica) => replica !== doomed && replica.logs.some((line) => line.run_id === run.id && line.msg.startsWith('run taken over')))!;
    const takeOver = taker.logs.find((line) => line.run_id === run.id && line.msg.startsWith('run taken over'));
    expect(takeOver).toMatchObject({ level: 'warn', dead_owner_id: doomed.ownerId });

    // Every event once, in order, on C's global stream; each retried platform's events after its retry say attempt 2.
    const stored = await dbEventsOf(run.id);
    expectInOrderNoGap(watcher.events.filter((event) => event.data.runId === run.id).map((event) => Number(event.id)), stored.map((event) => Number(event.id)));
    const rows = await db.query<{ platform: string; type: string; attempt: number | null }>(
      `select payload->>'platform' as platform, type, (payload->>'attempt')::int as attempt from run_events where run_id = $1 and type like 'platform.%' order by seq`,
      [run.id],
    );
    for (const step of again) {
      const own = rows.filter((row) => row.platform === step.platform);
      const second = own.findIndex((row) => row.attempt === 2);
      expect(own[second]?.type, step.platform).toBe('platform.started');
      expect(own.slice(second).every((row) => row.attempt === 2), step.platform).toBe(true);
      expect(own.at(-1)?.type, step.platform).toBe('platform.completed');
    }
    const metrics = await taker.api('/metrics').then((response) => response.text());
    expect(metrics).toMatch(/^oddswatch_runs_taken_over_total(\{[^}]*\})? 1$/m);
    console.info(
      `[replicas] dead owner's run taken over by ${taker.name}; ${doomedSteps.length > 0 ? `its first step scraped again ${takeOverMs} ms after kill -9` : `it held no step (the others took them all); run finished ${takeOverMs} ms after kill -9`} (orphan check every 300 ms); ${again.length} steps scraped again; run completed`,
    );
    if (doomedSteps.length > 0) expect(takeOverMs).toBeLessThan(10_000);
  });

  it('kill -9 the leader: another replica takes over (takeover time measured) and exactly one leads', async () => {
    const gauges = await waitFor(async () => {
      const values = await leaderGauges(replicas.filter((replica) => replica.name !== 'D'));
      return values.reduce((sum, value) => sum + value, 0) === 1 ? values : undefined;
    }, { what: 'exactly one leader' });
    const live = replicas.filter((replica) => replica.name !== 'D');
    const leader = live[gauges.indexOf(1)]!;
    const rest = live.filter((replica) => replica !== leader);
    const killedAt = Date.now();
    leader.process.kill('SIGKILL');
    await waitFor(async () => {
      const values = await leaderGauges(rest);
      return values.reduce((sum, value) => sum + value, 0) === 1 ? values : undefined;
    }, { timeoutMs: 10_000, intervalMs: 50, what: 'a new leader' });
    const takeoverMs = Date.now() - killedAt;
    console.info(`[replicas] leader takeover ${takeoverMs} ms after kill -9 (LEADER_RETRY_MS 300)`);
    expect(takeoverMs).toBeLessThan(5_000);
  });
});
