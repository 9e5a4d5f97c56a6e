import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { selectStaleRuns } from '../../src/db/tables/runs.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { connectSse } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let server: TestServer;
beforeAll(async () => {
  // Short thresholds: heartbeats every 100 ms, stale after 1 s, no run longer than 2.5 s.
  server = await startTestServer({ HEARTBEAT_INTERVAL_MS: '100', STALE_AFTER_MS: '1000', MAX_RUN_DURATION_MS: '2500', PLATFORM_TIMEOUT_MS: '60000' });
});
afterAll(async () => server?.close());
beforeEach(() => {
  for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 20, pages: 2, failureRate: 0, hang: false });
});

describe('watchdog (detect_stale_runs)', () => {
  it('fails a hung run past its maximum duration, closes its streams and the client sees the terminal event', async () => {
    server.platforms.simulated!.set('redfox', { hang: true });
    const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox', 'bluepeak'] } })).json()) as RunDetail;
    const client = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await server.waitForRun(run.id, ['running']);
    expect(await server.runs.detectStale()).toBe(0); // heartbeats are fresh and it is young
    // Poll the watchdog as its job would: it fails the run once it outlives MAX_RUN_DURATION_MS.
    const failed = await waitFor(async () => (await server.runs.detectStale()) === 1, { timeoutMs: 10_000, intervalMs: 100 });
    expect(failed).toBe(true);
    const age = Date.now() - Date.parse(run.createdAt);
    expect(age).toBeGreaterThanOrEqual(2500);
    await client.ended;
    expect(client.events.at(-1)!.data).toMatchObject({ type: 'run.finished', data: { status: 'failed', failureReason: 'stale' } });
    const ended = (await (await server.api(`/api/runs/${run.id}`)).json()) as RunDetail;
    expect(ended).toMatchObject({ status: 'failed', failureReason: 'stale' });
    expect(Date.parse(ended.finishedAt!) - Date.parse(ended.heartbeatAt!)).toBeLessThan(1000); // it was alive, just too long
    expect(ended.steps.find((step) => step.platform === 'redfox')!.status).toBe('failed');
    const warning = server.logs.find((line) => line.run_id === run.id && line.level === 'warn' && line.actor === 'watchdog');
    expect(warning).toMatchObject({ failure_reason: 'stale', stale_because: 'max_duration' });
    // The runner, whose platform was aborted, lost the race and changed nothing.
    await server.waitForRun(run.id, ['failed']);
    expect(server.runs.inFlight.has(run.id)).toBe(false);
    expect(((await (await server.api(`/api/runs/${run.id}`)).json()) as RunDetail).failureReason).toBe('stale');
  });

  it('fails a run whose heartbeat stopped (its process died) and one that never left pending', async () => {
    const [dead] = await server.db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, started_at, heartbeat_at) values ('running', 'scheduled', '{redfox}', 'gone', now() - interval '5 seconds', now() - interval '3 seconds') returning id`,
    );
    await server.db.query(`insert into platform_steps (run_id, platform, status, started_at) values ($1, 'redfox', 'running', now() - interval '5 seconds')`, [dead!.id]);
    expect(await server.runs.detectStale()).toBe(1);
    const ended = (await (await server.api(`/api/runs/${dead!.id}`)).json()) as RunDetail;
    expect(ended).toMatchObject({ status: 'failed', failureReason: 'stale' });
    expect(ended.steps[0]!.status).toBe('failed');

    const [stuck] = await server.db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, created_at) values ('pending', 'api', '{redfox}', 'gone', now() - interval '2 seconds') returning id`,
    );
    expect(await server.runs.detectStale()).toBe(1);
    expect(((await (await server.api(`/api/runs/${stuck!.id}`)).json()) as RunDetail).status).toBe('failed');
  });

  it('judges a run that never wrote a heartbeat by its start, after two heartbeat intervals of grace', async () => {
    const [young] = await server.db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, started_at) values ('running', 'api', '{redfox}', 'gone', now() - interval '900 milliseconds') returning id`,
    );
    expect(await server.runs.detectStale()).toBe(0);
    // The grace, with room to measure it: stale after 1 s, two 1 s heartbeat intervals of grace.
    await server.db.query(`update runs set started_at = now() - interval '1500 milliseconds' where id = $1`, [young!.id]);
    expect((await selectStaleRuns(server.orm, { staleAfterMs: 1000, neverBeatGraceMs: 2000, maxRunDurationMs: 600_000 })).map((run) => run.id)).not.toContain(Number(young!.id));
    await server.db.query(`update runs set started_at = now() - interval '3500 milliseconds' where id = $1`, [young!.id]);
    expect((await selectStaleRuns(server.orm, { staleAfterMs: 1000, neverBeatGraceMs: 2000, maxRunDurationMs: 600_000 })).map((run) => run.id)).toContain(Number(young!.id));
    // And the watchdog as configured (stale after 1 s + 2 x 100 ms) fails it.
    expect(await server.runs.detectStale()).toBe(1);
  });

  it('never touches terminal runs, connection_failed included', async () => {
    await server.db.query(
      `insert into runs (status, trigger, failure_reason, platforms, owner_id, started_at, heartbeat_at, finished_at) values
       ('connection_failed', 'api-stream', 'connection_lost', '{redfox}', 'gone', now() - interval '1 hour', now() - interval '1 hour', now() - interval '59 minutes'),
       ('completed', 'scheduled', null, '{redfox}', 'gone', now() - interval '1 hour', now() - interval '1 hour', now() - interval '59 minutes')`,
    );
    const before = await server.db.query(`select id, status, failure_reason from runs where status in ('connection_failed', 'completed') order by id`);
    expect(await server.runs.detectStale()).toBe(0);
    expect(await server.db.query(`select id, status, failure_reason from runs where status in ('connection_failed', 'completed') order by id`)).toEqual(before);
  });

  it('can be run now through the scheduler API', async () => {
    const response = await server.api('/api/scheduler/jobs/detect_stale_runs/run', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ staleRunsFailed: 0 });
  });
});
