import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ EVENT_RETENTION_DAYS: '7' });
});
afterAll(async () => server?.close());

describe('event retention (job prune_run_events)', () => {
  it('deletes the events of runs finished before the retention period, keeps the runs and recent events', async () => {
    const old = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
    await server.waitForRun(old.id, ['completed']);
    const recent = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
    await server.waitForRun(recent.id, ['completed']);
    await server.db.query(`update runs set created_at = created_at - interval '8 days', started_at = started_at - interval '8 days', finished_at = finished_at - interval '8 days' where id = $1`, [old.id]);
    await server.db.query(`insert into run_events (type, payload, created_at) values ('scheduler.changed', '{}', now() - interval '8 days')`);
    const count = async (sql: string, params: unknown[] = []) => ((await server.db.query<{ n: number }>(sql, params))[0]!.n);
    const recentEvents = await count('select count(*)::int as n from run_events where run_id = $1', [recent.id]);

    const response = await server.api('/api/scheduler/jobs/prune_run_events/run', { method: 'POST' });
    expect(response.status).toBe(200);
    const { eventsDeleted } = (await response.json()) as { eventsDeleted: number };
    expect(eventsDeleted).toBeGreaterThan(1);
    expect(await count('select count(*)::int as n from run_events where run_id = $1', [old.id])).toBe(0);
    expect(await count(`select count(*)::int as n from run_events where run_id is null and created_at < now() - interval '7 days'`)).toBe(0);
    expect(await count('select count(*)::int as n from run_events where run_id = $1', [recent.id])).toBe(recentEvents);
    expect(((await (await server.api(`/api/runs/${old.id}`)).json()) as RunDetail).status).toBe('completed');
    expect((await server.api(`/api/runs/${old.id}/events`)).status).toBe(204);
  });
});
