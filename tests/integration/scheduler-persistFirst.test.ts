import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchedulerState } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * Issue 13 defect 0.3: a scheduler change that cannot be stored must change nothing (it used to answer
 * 500 while the new state took effect in memory). The store is made to fail for real: the table is
 * renamed away under the running service.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ SCHEDULER_ENABLED: 'true' });
});

afterAll(async () => {
  await server?.close();
});

const state = async () => (await (await server.api('/api/scheduler')).json()) as SchedulerState;

describe('scheduler changes are stored before they take effect', () => {
  it('a pause or an interval change that cannot be stored answers 500 and changes nothing', async () => {
    const before = await state();
    expect(before.paused).toBe(false);
    expect(before.jobs.find((job) => job.id === 'scrape_all_platforms')?.nextRunAt).not.toBeNull();
    await server.db.query('alter table scheduler_jobs rename to scheduler_jobs_away');
    try {
      expect((await server.api('/api/scheduler/pause', { method: 'POST' })).status).toBe(500);
      expect((await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 42 } })).status).toBe(500);
      const after = await state();
      expect(after).toEqual(before);
      expect(server.scheduler.isPaused()).toBe(false);
    } finally {
      await server.db.query('alter table scheduler_jobs_away rename to scheduler_jobs');
    }
    expect((await server.api('/api/scheduler/pause', { method: 'POST' })).status).toBe(200);
    expect((await state()).paused).toBe(true);
    const stored = await server.db.query<{ paused: boolean }>(`select paused from scheduler_jobs where id = 'scrape_all_platforms'`);
    expect(stored[0]?.paused).toBe(true);
  });
});
