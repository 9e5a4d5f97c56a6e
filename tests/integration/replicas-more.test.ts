import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSse, type ReceivedEvent } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { leaderGauges, slowFeeds, startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { startNginx, type NginxFront } from '../helpers/nginxFront.js';
import { terminateBackends } from '../helpers/replicas.js';
import { waitFor } from '../helpers/waitFor.js';
import type { RunDetail } from '../../src/shared/contract.js';

/**
 * Three built replicas (A, B, C) on one database, the scheduler enabled on all (one leads), and Debian's
 * nginx running the shipped deploy/nginx/oddswatch.conf in front of them. Figures go to the log.
 */
const GRACE_MS = 1_500;
let db: TestDatabase;
let nginx: NginxFront | undefined;
const replicas: Replica[] = [];
let a: Replica;
let b: Replica;

beforeAll(async () => {
  db = await createTestDatabase();
  // Runs of ~4.3 s (36 pages of 120 ms, every platform at once): an observed run outlives a dropped watcher's grace.
  const env = { CONNECTION_GRACE_MS: String(GRACE_MS), SCHEDULER_ENABLED: 'true', SIM_FEEDS: slowFeeds(120, 36, 4) };
  for (const name of ['A', 'B', 'C']) replicas.push(await startReplica(name, db.url, env)); // the first migrates
  [a, b] = replicas as [Replica, Replica];
  nginx = await startNginx(replicas.map((replica) => new URL(replica.url).host));
}, 120_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
  await db?.drop();
});

const TERMINAL = ['completed', 'partial', 'failed', 'connection_failed'] as const;
const dbEventIds = async (runId: number) =>
  (await db.query<{ id: string; type: string }>('select id, type from run_events where run_id = $1 order by id', [runId])).map((row) => ({ id: Number(row.id), type: row.type }));
const runIdsOf = (events: ReceivedEvent[], runId: number) => events.filter((event) => event.data.runId === runId).map((event) => Number(event.id));
const globalSubscribers = async (replica: Replica) => {
  const text = await fetch(`${replica.url}/metrics`).then((response) => response.text());
  return Number(/^oddswatch_sse_subscribers\{[^}]*stream="global"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
};

describe('three replicas, more', () => {
  it('behind nginx (shipped config): a run started through nginx reaches every global-stream client through nginx, in order, once', async () => {
    const front = nginx!;
    const clients = await Promise.all(Array.from({ length: 6 }, () => connectSse(`${front.url}/api/events`)));
    for (const client of clients) expect(client.status).toBe(200);
    // least_conn: six streams over three replicas land on every replica.
    const spread = await waitFor(async () => {
      const counts = await Promise.all(replicas.map(globalSubscribers));
      return counts.reduce((sum, n) => sum + n, 0) === clients.length ? counts : undefined;
    }, { what: 'six global subscribers counted over the replicas' });
    expect(spread.every((count) => count >= 1)).toBe(true);

    const response = await fetch(`${front.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(202);
    const run = (await response.json()) as RunDetail;
    await Promise.all(clients.map((client) => client.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 30_000)));
    for (const client of clients) client.close();

    const stored = await dbEventIds(run.id);
    expect(stored.at(-1)?.type).toBe('run.finished');
    for (const client of clients) {
      const received = runIdsOf(client.events, run.id);
      expect(received).toEqual(stored.map((event) => event.id)); // every event, increasing, no gap, no duplicate
    }
    console.info(`[replicas-more] nginx: ${clients.length} global streams spread ${spread.join('/')} over A/B/C; each got all ${stored.length} events of run ${run.id}`);
  });

  it('an observed run on A watched only through B: B\'s watcher drops and reconnects with Last-Event-ID within the grace, the run completes', async () => {
    const run = await startRunOn(a, { observe: true });
    const first = await connectSse(`${b.url}/api/runs/${run.id}/events`);
    await first.waitForEvent((event) => event.data.type === 'platform.progress', 20_000);
    const guardLines = (msg: string) => a.logs.filter((line) => line.run_id === run.id && line.msg === msg);
    const STARTED = 'observed run has no watcher on any replica: connection grace started';
    const CANCELLED = 'observed run has a watcher: connection grace cancelled';
    // A's guard may have tracked the run before or after B's watcher reached it (B's presence refresh).
    const tracked = await waitFor(() => guardLines('observed run tracked by the connection guard')[0], { what: "A's guard tracking the run" });
    const initially = tracked.watched === true ? 0 : 1;
    // At least: under load a presence lease can lapse between two refreshes (200 ms here) and come back, a grace
    // more started and cancelled before the drop.
    await waitFor(() => guardLines(CANCELLED).length >= initially && guardLines(STARTED).length === guardLines(CANCELLED).length - initially, { what: 'A to see the watcher on B' });
    const lapsesBefore = guardLines(STARTED).length;
    const lastId = first.events.at(-1)!.id!;
    first.close();
    const droppedAt = Date.now();
    // Away until A's guard has seen nobody watching on any replica (its grace started), then back.
    await waitFor(() => guardLines(STARTED).length === lapsesBefore + 1, { timeoutMs: GRACE_MS, what: 'A to see no watcher anywhere' });
    const second = await connectSse(`${b.url}/api/runs/${run.id}/events`, { lastEventId: lastId });
    const awayMs = Date.now() - droppedAt;
    expect(second.status).toBe(200);
    await second.ended;
    const ended = await waitForRunStatus(a, run.id, [...TERMINAL]);
    expect(ended.status).toBe('completed');
    // The run outlived the grace counted from the drop: only the watcher's return through B kept it.
    expect(Date.parse(ended.finishedAt!) - droppedAt).toBeGreaterThan(GRACE_MS);
    // Watched, then its grace after the drop cancelled by the return. Under load a presence lease can lapse
    // between two refreshes (200 ms here) and come back: a grace more, started and cancelled within it.
    const cancelled = guardLines(CANCELLED);
    expect(cancelled.length).toBeGreaterThanOrEqual(initially + 1);
    expect(guardLines(STARTED)).toHaveLength(cancelled.length - initially);
    for (const line of cancelled.slice(initially)) expect(line.unwatched_ms).toBeLessThan(GRACE_MS);
    const seqs = [...first.events, ...second.events].map((event) => Number(event.id));
    const stored = await db.query<{ seq: number }>('select seq from run_events where run_id = $1 order by seq', [run.id]);
    expect(seqs).toEqual(stored.map((row) => row.seq));
    console.info(`[replicas-more] observed run ${run.id} completed: its only watcher (on B) was away ${awayMs} ms (grace ${GRACE_MS} ms)`);
  });

  it('the liveness session of C terminated mid-run: C regains its lock, POST /api/runs works again, the run in flight goes on (taken over by C or a survivor) and completes', async () => {
    const c = replicas[2]!;
    const watcher = await connectSse(`${a.url}/api/events`);
    const run = await startRunOn(c);
    await watcher.waitForEvent((event) => event.data.type === 'platform.started' && event.data.runId === run.id, 20_000);
    // Steps are jobs spread over the replicas (C looks first, but under load the others may take them all): cut C
    // once it scrapes one, or once every step has started.
    const cutSteps = await waitFor(
      async () => {
        const detail = (await (await a.api(`/api/runs/${run.id}`)).json()) as RunDetail;
        const onC = detail.steps.filter((step) => step.status === 'running' && step.replica === c.ownerId);
        return onC.length > 0 || detail.steps.every((step) => step.status !== 'pending') ? onC : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: 'a step running on C, or every step started' },
    );
    const statuses: { at: number; status: number; code?: string }[] = [];
    const cutAt = Date.now();
    expect(await terminateBackends(db.url, `oddswatch-owner-${c.ownerId}`)).toBe(1);
    // Ask C to start runs until it accepts one: 503 not_owning_runs while the lock is lost, 409 while the run is still active.
    const accepted = await waitFor(async () => {
      const response = await c.api('/api/runs', { method: 'POST', json: {} });
      const body = (await response.json()) as { id?: number; error?: { code: string } };
      statuses.push({ at: Date.now() - cutAt, status: response.status, code: body.error?.code });
      return response.status === 202 ? (body as RunDetail) : undefined;
    }, { timeoutMs: 15_000, intervalMs: 5, what: 'C to accept a run again' });
    const ended = await waitForRunStatus(b, run.id, [...TERMINAL]);
    expect(ended.status).toBe('completed');
    // The steps C was scraping at the cut were let go and scraped again (attempt 2) by whichever replica took their
    // jobs; the run itself was taken over by C once its lock was back, or by the leader.
    const again = ended.steps.filter((step) => step.attempt === 2);
    expect(again.map((step) => step.platform)).toEqual(expect.arrayContaining(cutSteps.map((step) => step.platform)));
    const taker = replicas.find((replica) => replica.logs.some((line) => line.run_id === run.id && String(line.msg).startsWith('run taken over')))!;
    expect(taker).toBeDefined();
    for (const step of again) expect(replicas.map((replica) => replica.ownerId), step.platform).toContain(step.replica);
    await watcher.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 10_000);
    watcher.close();
    await waitForRunStatus(c, accepted.id, [...TERMINAL]);
    const unavailable = statuses.filter((entry) => entry.status === 503);
    for (const entry of unavailable) expect(entry.code).toBe('not_owning_runs');
    expect(statuses.every((entry) => [202, 409, 503].includes(entry.status))).toBe(true);
    expect(c.logs.some((line) => String(line.msg).startsWith('owner liveness lock lost'))).toBe(true);
    expect(c.logs.some((line) => line.msg === 'owner liveness lock held again')).toBe(true);
    const window = unavailable.length ? `503 not_owning_runs seen ${unavailable.length}x from ${unavailable[0]!.at} to ${unavailable.at(-1)!.at} ms` : 'no 503 caught';
    console.info(`[replicas-more] liveness cut on C: ${window}; first 202 at ${statuses.at(-1)!.at} ms after the cut (${statuses.length} POSTs); run ${run.id} taken over by ${taker.name}, ${again.length} steps scraped again, ended ${ended.status}`);
  });

  it('kill -9 the leader: another replica ticks the scrape job (a scheduled run), takeover measured', async () => {
    const gauges = await waitFor(async () => {
      const values = await leaderGauges(replicas);
      return values.reduce((sum, value) => sum + value, 0) === 1 ? values : undefined;
    }, { what: 'exactly one leader' });
    const leader = replicas[gauges.indexOf(1)]!;
    const rest = replicas.filter((replica) => replica !== leader);
    const patchedAt = new Date();
    const patched = await rest[0]!.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 10 } });
    expect(patched.status).toBe(200);
    const scheduledSince = (after: Date, ownerId?: string) =>
      db.query<{ id: string; owner_id: string; created_at: Date }>(
        `select id, owner_id, created_at from runs where trigger = 'scheduled' and created_at > $1 ${ownerId ? 'and owner_id = $2' : ''} order by id`,
        ownerId ? [after, ownerId] : [after],
      );
    const scheduledBy = async (ownerId: string | undefined, after: Date) => (await scheduledSince(after, ownerId))[0];
    // The leader ticks first (proves the job is armed at 10 s); let that run finish before the kill.
    const beforeKill = await waitFor(() => scheduledBy(leader.ownerId, new Date(0)), { timeoutMs: 25_000, intervalMs: 100, what: 'a scheduled run by the leader' });
    await waitForRunStatus(rest[0]!, Number(beforeKill.id), [...TERMINAL]);

    const killedAt = new Date();
    leader.process.kill('SIGKILL');
    await waitFor(async () => {
      const values = await leaderGauges(rest);
      return values.reduce((sum, value) => sum + value, 0) === 1 ? values : undefined;
    }, { timeoutMs: 10_000, intervalMs: 50, what: 'a new leader' });
    const takeoverMs = Date.now() - killedAt.getTime();
    const after = await waitFor(() => scheduledBy(undefined, killedAt), { timeoutMs: 30_000, intervalMs: 100, what: 'a scheduled run after the kill' });
    const tickMs = new Date(after.created_at).getTime() - killedAt.getTime();
    expect(after.owner_id).not.toBe(leader.ownerId);
    expect(rest.map((replica) => replica.ownerId)).toContain(after.owner_id);
    await waitForRunStatus(rest[0]!, Number(after.id), [...TERMINAL]);
    // One tick at a time across three replicas: since the interval became 10 s, every tick of the scrape job,
    // whichever replica made it (a scheduled run, or a skip because a run was still active), came 10 s after
    // the one before; two replicas ticking one interval would show as two ticks close together.
    const scheduled = await scheduledSince(patchedAt);
    const byOwner = new Map(replicas.map((replica) => [replica.ownerId, replica.name]));
    const ticks = [
      ...scheduled.map((run) => ({ replica: byOwner.get(run.owner_id) ?? run.owner_id, at: run.created_at.getTime(), what: 'run' })),
      ...replicas.flatMap((replica) =>
        replica.logs.filter((line) => line.msg === 'scrape skipped: a run is active' && line.by === 'schedule').map((line) => ({ replica: replica.name, at: new Date(String(line.time)).getTime(), what: 'skipped' })),
      ),
    ]
      .filter((tick) => tick.at > patchedAt.getTime())
      .sort((x, y) => x.at - y.at);
    const gapsMs = ticks.slice(1).map((tick, index) => tick.at - ticks[index]!.at);
    const described = ticks.map((tick, index) => `${tick.replica} ${tick.what}${index ? ` +${gapsMs[index - 1]} ms` : ''}`).join(', ');
    expect(ticks.filter((tick) => tick.at < killedAt.getTime()).every((tick) => tick.replica === leader.name), described).toBe(true);
    for (const gapMs of gapsMs) expect(gapMs, described).toBeGreaterThan(9_000);
    console.info(`[replicas-more] scrape job ticks since the interval became 10 s: ${described}`);
    console.info(`[replicas-more] leader ${leader.name} killed: new leader in ${takeoverMs} ms (LEADER_RETRY_MS 300); its first scheduled scrape ${tickMs} ms after the kill (interval 10 s, previous tick ${killedAt.getTime() - new Date(beforeKill.created_at).getTime()} ms before the kill)`);
    expect(takeoverMs).toBeLessThan(5_000);
    expect(tickMs).toBeLessThan(10_000 + 5_000);
  }, 90_000);
});
