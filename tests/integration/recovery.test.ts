import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { insertHeldStepJob } from '../helpers/stepJobs.js';

let db: TestDatabase;
const children: ChildService[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const child of children) await child.stop('SIGKILL');
  await db?.drop();
});

const SLOW = JSON.stringify({ '*': { latencyMs: 20, pages: 2 }, redfox: { latencyMs: 2000, pages: 50 } });
const start = async (env: Record<string, string> = {}) => {
  const child = await spawnService({ DATABASE_URL: db.url, SIM_FEEDS: SLOW, ...env });
  children.push(child);
  return child;
};
const getRun = async (url: string, id: number) => (await (await fetch(`${url}/api/runs/${id}`)).json()) as RunDetail;

describe('start-up recovery', () => {
  it('takes over the run of a process killed with SIGKILL, fails one too old to take over as interrupted, and leaves a live instance alone', async () => {
    const doomed = await start();
    const run = (await (await fetch(`${doomed.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["redfox"]}' })).json()) as RunDetail;
    await waitFor(async () => (await getRun(doomed.url, run.id)).steps[0]!.status === 'running', { what: 'the run\'s step to start' });
    await doomed.stop('SIGKILL');

    // The next instance takes the run over at its start-up: the step is scraped again there, as attempt 2.
    const alive = await start();
    const owner = String(alive.logs.find((line) => typeof line.owner_id === 'string' && typeof line.url === 'string')!.owner_id);
    const step = await waitFor(async () => {
      const current = (await getRun(alive.url, run.id)).steps[0]!;
      return current.status === 'running' ? current : undefined;
    }, { what: 'the step scraped again' });
    expect(step).toMatchObject({ attempt: 2, replica: owner });
    expect(alive.logs.some((line) => line.level === 'warn' && line.run_id === run.id && line.msg.startsWith('run taken over'))).toBe(true);
    expect((await fetch(`${alive.url}/api/runs/${run.id}/cancel`, { method: 'POST' })).status).toBe(200);

    // A run whose owner died longer ago than STALE_AFTER_MS is not taken over: it is failed interrupted.
    const [old] = await db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, started_at, heartbeat_at) values ('running', 'scheduled', '{redfox}', 'a-process-long-gone', now() - interval '1 hour', now() - interval '1 hour') returning id`,
    );
    const next = await start();
    expect(await getRun(next.url, Number(old!.id))).toMatchObject({ status: 'failed', failureReason: 'interrupted' });
    // Failed by the new start's recovery, or by the live instance's orphan check if it looked first.
    expect([next, alive].some((instance) => instance.logs.some((line) => line.level === 'warn' && line.run_id === Number(old!.id) && line.actor === 'recovery'))).toBe(true);

    // A live instance owns a running run of its own (inserted as its owner).
    const [live] = await db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, started_at, heartbeat_at) values ('running', 'scheduled', '{redfox}', $1, now(), now()) returning id`,
      [owner],
    );

    // A third instance starting now must not touch the live instance's run.
    const third = await start({ PORT: '0' });
    expect((await getRun(third.url, Number(live!.id))).status).toBe('running');
    expect(third.logs.some((line) => line.owner_id === owner && (line.run_ids as number[] | undefined)?.includes(Number(live!.id)))).toBe(true);
    await db.query(`update runs set status = 'completed', finished_at = now() where id = $1`, [live!.id]);
  }, 90_000);

  it('a taken-over run whose step has no job left to deliver (an inconsistency) fails that step interrupted instead of holding every run', async () => {
    // Taken over by the leader's orphan check (every 3 s) once the rows below exist: this instance or one left by the test above.
    const service = await start();
    const [orphan] = await db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, started_at, heartbeat_at) values ('running', 'scheduled', '{redfox}', 'a-dead-replica', now(), now()) returning id`,
    );
    const runId = Number(orphan!.id);
    await db.query(`insert into platform_steps (run_id, platform, status, attempt, replica) values ($1, 'redfox', 'pending', 1, 'a-dead-replica')`, [runId]);
    // Its job completed though the step never ended.
    const jobId = await insertHeldStepJob((sql, params) => db.query(sql, params), runId, 'redfox');
    await db.query(`update pgboss.job set state = 'completed', completed_on = now() where id = $1`, [jobId]);
    const ended = await waitFor(async () => {
      const run = await getRun(service.url, runId);
      return run.status === 'failed' ? run : undefined;
    }, { timeoutMs: 25_000, what: 'the run to end' });
    expect(ended).toMatchObject({ failureReason: 'all_platforms_failed' });
    expect(ended.steps[0]).toMatchObject({ status: 'failed', reason: 'interrupted', error: 'interrupted: its job ended without it (no replica will scrape it)' });
    expect(children.some((child) => child.logs.some((line) => line.level === 'error' && line.run_id === runId && line.msg === 'step failed interrupted: its job ended without it'))).toBe(true);
  }, 60_000);
});

describe('graceful shutdown', () => {
  it('on SIGTERM fails the run in flight as interrupted after the grace period and exits 0', async () => {
    const service = await start({ SHUTDOWN_GRACE_MS: '300' });
    const run = (await (await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["redfox"]}' })).json()) as RunDetail;
    await waitFor(async () => (await getRun(service.url, run.id)).status === 'running');
    const exit = await service.stop('SIGTERM');
    expect(exit.code).toBe(0);
    const [row] = await db.query<{ status: string; failure_reason: string }>('select status, failure_reason from runs where id = $1', [run.id]);
    expect(row).toEqual({ status: 'failed', failure_reason: 'interrupted' });
  }, 60_000);

  it('on SIGTERM lets a short run finish', async () => {
    const service = await start({ SHUTDOWN_GRACE_MS: '10000' });
    const run = (await (await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["northwind","bluepeak"]}' })).json()) as RunDetail;
    const exit = await service.stop('SIGTERM');
    expect(exit.code).toBe(0);
    const [row] = await db.query<{ status: string }>('select status from runs where id = $1', [run.id]);
    expect(row!.status).toBe('completed');
  }, 60_000);
});
