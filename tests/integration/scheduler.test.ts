import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, RunDetail, SchedulerJob, SchedulerState } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let db: TestDatabase;
let server: TestServer;
const ENV = { SCHEDULER_ENABLED: 'true', SCRAPE_INTERVAL_SECONDS: '600', WATCHDOG_INTERVAL_SECONDS: '120' };

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(ENV, db);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const state = async (target = server) => (await (await target.api('/api/scheduler')).json()) as SchedulerState;
const job = (scheduler: SchedulerState, id: string) => scheduler.jobs.find((candidate) => candidate.id === id)!;

describe('scheduler', () => {
  it('lists jobs by id with their own interval, next and last run', async () => {
    const scheduler = await state();
    expect(scheduler.jobs.map((candidate) => candidate.id).sort()).toEqual(['detect_stale_runs', 'prune_run_events', 'scrape_all_platforms']);
    const scrape = job(scheduler, 'scrape_all_platforms');
    expect(scrape.intervalSeconds).toBe(600);
    expect(job(scheduler, 'detect_stale_runs').intervalSeconds).toBe(120);
    const inSeconds = (Date.parse(scrape.nextRunAt!) - Date.now()) / 1000;
    expect(inSeconds).toBeGreaterThan(590);
    expect(inSeconds).toBeLessThanOrEqual(601);
    expect(scrape.paused).toBe(false);
  });

  it('changes an interval, announces it on the global stream, and keeps it across a restart', async () => {
    const client = await connectSse(`${server.url}/api/events`);
    const response = await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 900 } });
    expect(response.status).toBe(200);
    const updated = (await response.json()) as SchedulerJob;
    expect(updated.intervalSeconds).toBe(900);
    expect((Date.parse(updated.nextRunAt!) - Date.now()) / 1000).toBeGreaterThan(890);
    const event = await client.waitForEvent((candidate) => candidate.event === 'scheduler.changed');
    expect(event.data).toMatchObject({ type: 'scheduler.changed' });
    client.close();

    await server.close();
    server = await startTestServer(ENV, db);
    expect(job(await state(), 'scrape_all_platforms').intervalSeconds).toBe(900);
    expect(job(await state(), 'detect_stale_runs').intervalSeconds).toBe(120);
  });

  it('pauses and resumes the scrape job (never the watchdog), across a restart too', async () => {
    const paused = (await (await server.api('/api/scheduler/pause', { method: 'POST' })).json()) as SchedulerState;
    expect(paused.paused).toBe(true);
    expect(job(paused, 'scrape_all_platforms')).toMatchObject({ paused: true, nextRunAt: null });
    expect(job(paused, 'detect_stale_runs').paused).toBe(false);
    expect(job(paused, 'detect_stale_runs').nextRunAt).not.toBeNull();
    expect((await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_scheduler_paused')).toBe(1);

    await server.close();
    server = await startTestServer(ENV, db);
    expect((await state()).paused).toBe(true);

    const resumed = (await (await server.api('/api/scheduler/resume', { method: 'POST' })).json()) as SchedulerState;
    expect(resumed.paused).toBe(false);
    expect(job(resumed, 'scrape_all_platforms').nextRunAt).not.toBeNull();
    expect((await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_scheduler_paused')).toBe(0);
  });

  it('runs the scrape job now, and counts a scheduled tick skipped while a run is active', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 300, pages: 2 });
    const response = await server.api('/api/scheduler/jobs/scrape_all_platforms/run', { method: 'POST' });
    expect(response.status).toBe(202);
    const { run } = (await response.json()) as { run: RunDetail };
    const before = (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_scheduler_ticks_skipped_total', { scheduler_job: 'scrape_all_platforms' });
    const outcome = await server.scheduler.runNow('scrape_all_platforms');
    expect(outcome).toMatchObject({ kind: 'skipped', because: { code: 'run_active', details: { activeRunId: run.id } } });
    const after = (await MetricsSnapshot.scrape(`${server.url}/metrics`)).value('oddswatch_scheduler_ticks_skipped_total', { scheduler_job: 'scrape_all_platforms' });
    expect(after - before).toBe(1);
    // The same job through the API: skipped too, and the operator is told why.
    const again = await server.api('/api/scheduler/jobs/scrape_all_platforms/run', { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ApiErrorBody).error).toMatchObject({ code: 'run_active', details: { activeRunId: run.id } });
    expect(((await (await server.api('/api/runs?limit=100')).json()) as { items: RunDetail[] }).items.filter((item) => item.status !== 'completed')).toHaveLength(1);
    await server.waitForRun(run.id, ['completed']);
  });

  it.each([
    [{ intervalSeconds: 5 }, 400],
    [{ intervalSeconds: 100_000 }, 400],
    [{ intervalSeconds: 'often' }, 400],
    [{ intervalSeconds: 60.5 }, 400],
    [{}, 400],
    [{ intervalSeconds: 60, extra: true }, 400],
  ])('rejects the body %j', async (body, status) => {
    const response = await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: body });
    expect(response.status).toBe(status);
    expect(((await response.json()) as ApiErrorBody).error.code).toBe('invalid_request');
    expect(job(await state(), 'scrape_all_platforms').intervalSeconds).toBe(900);
  });

  it('answers 404 for an unknown job', async () => {
    expect((await server.api('/api/scheduler/jobs/scrape_odds', { method: 'PATCH', json: { intervalSeconds: 60 } })).status).toBe(404);
    expect((await server.api('/api/scheduler/jobs/nope/run', { method: 'POST' })).status).toBe(404);
  });
});
