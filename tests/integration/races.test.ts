import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishRun } from '../../src/runs/finishRun.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());

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
    server.platforms.simulated!.set('northwind', { latencyMs: 20 });
  });

  it('the runner and a concurrent compare-and-set: exactly one wins, the loser changes nothing', async () => {
    server.platforms.simulated!.set('bluepeak', { latencyMs: 300 });
    const run = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['bluepeak'] } })).json()) as RunDetail;
    await server.waitForRun(run.id, ['running']);
    // Race the runner with two outside transitions at once.
    const outcomes = await Promise.all([
      finishRun(server.engine, run.id, 'failed', 'stale', { actor: 'test-a' }),
      finishRun(server.engine, run.id, 'failed', 'interrupted', { actor: 'test-b' }),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.find(Boolean)!;
    const ended = await server.waitForRun(run.id, ['failed']);
    expect(ended.failureReason).toBe(winner.failureReason);
    // The runner later tries to finish: nothing changes, and it says it lost.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    const after = (await (await server.api(`/api/runs/${run.id}`)).json()) as RunDetail;
    expect(after.status).toBe('failed');
    expect(after.failureReason).toBe(winner.failureReason);
    const finished = await server.db.query('select count(*)::int as n from run_events where run_id = $1 and type = $2', [run.id, 'run.finished']);
    expect(finished[0]).toEqual({ n: 1 });
    server.platforms.simulated!.set('bluepeak', { latencyMs: 20 });
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
