import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());
beforeEach(() => {
  for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 20, pages: 2, failureRate: 0, hang: false });
});

describe('races', () => {
  it('two concurrent POST /api/runs: exactly one 202 and one 409', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 200 });
    const responses = await Promise.all([1, 2].map(() => server.api('/api/runs', { method: 'POST', json: { platforms: ['northwind'] } })));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([202, 409]);
    const created = (await responses.find((response) => response.status === 202)!.json()) as RunDetail;
    const conflict = (await responses.find((response) => response.status === 409)!.json()) as { error: { details: { activeRunId: number } } };
    expect(conflict.error.details.activeRunId).toBe(created.id);
    await server.waitForRun(created.id, ['completed']);
  });

  it('the runner and concurrent compare-and-sets: exactly one wins, and its run.finished stops the runner', async () => {
    server.platforms.simulated!.set('bluepeak', { latencyMs: 300 });
    const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['bluepeak'] } })).json()) as RunDetail;
    await waitFor(async () => ((await (await server.api(`/api/runs/${run.id}`)).json()) as RunDetail).steps[0]!.status === 'running', {
      what: 'the platform to be mid-scrape',
    });
    // Two transitions from another process (its own in-flight runs: ours is not stopped by them), racing each
    // other while our runner is mid-scrape; the winner's run.finished reaches our bus, as another replica's would.
    const otherProcess = server.runs.asAnotherProcess();
    const outcomes = await Promise.all([
      otherProcess.finish(run.id, 'failed', 'stale', { actor: 'test-a' }),
      otherProcess.finish(run.id, 'failed', 'interrupted', { actor: 'test-b' }),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.find(Boolean)!;

    // The runner learns of it from that event (not at its next heartbeat, 5 s away) and stops; a runner that
    // tries to finish first loses its compare-and-set (runSpans.test.ts).
    const stopped = await waitFor(() => server.logs.find((line) => line.run_id === run.id && line.msg === 'run was ended elsewhere; stopping its runner'));
    expect(stopped.learned_from).toBe('run.finished');
    await waitFor(() => !server.runs.inFlight.has(run.id), { what: 'the runner to stop' });
    const after = (await (await server.api(`/api/runs/${run.id}`)).json()) as RunDetail;
    expect(after.status).toBe('failed');
    expect(after.failureReason).toBe(winner.failureReason);
    expect(after.steps[0]!.status).toBe('failed'); // the winner failed the running step; the runner's late result changed nothing
    const finished = await server.db.query('select count(*)::int as n from run_events where run_id = $1 and type = $2', [run.id, 'run.finished']);
    expect(finished[0]).toEqual({ n: 1 });
  });

  it('the database refuses to change a terminal status, even without the compare-and-set guard', async () => {
    const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
    await server.waitForRun(run.id, ['completed']);
    await expect(server.db.query(`update runs set status = 'failed', failure_reason = 'stale' where id = $1`, [run.id])).rejects.toThrow(/cannot become failed/);
  });

  it('the database allows one active run and one retry per run', async () => {
    await server.db.query(`insert into runs (status, trigger, platforms) values ('pending', 'api', '{redfox}')`);
    await expect(server.db.query(`insert into runs (status, trigger, platforms) values ('running', 'api', '{redfox}')`)).rejects.toThrow(/runs_one_active_unique/);
    await server.db.query(`update runs set status = 'connection_failed', failure_reason = 'connection_lost', finished_at = now() where status = 'pending'`);
    const [lost] = await server.db.query<{ id: string }>(`select id from runs where status = 'connection_failed' order by id desc limit 1`);
    await server.db.query(`insert into runs (status, trigger, platforms, retry_of, finished_at) values ('completed', 'retry', '{redfox}', $1, now())`, [lost!.id]);
    await expect(
      server.db.query(`insert into runs (status, trigger, platforms, retry_of, finished_at) values ('completed', 'retry', '{redfox}', $1, now())`, [lost!.id]),
    ).rejects.toThrow(/runs_retry_of_unique/);
    await expect(server.db.query(`insert into runs (status, trigger, platforms) values ('exploded', 'api', '{redfox}')`)).rejects.toThrow(/check/);
  });
});
