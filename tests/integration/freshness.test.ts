import { afterAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const db = await createTestDatabase();
let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  await db.drop();
});

describe('platform freshness', () => {
  it('survives a restart: the last-success gauge is initialised from the database', async () => {
    server = await startTestServer({}, db);
    const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['silverstake'] } })).json()) as RunDetail;
    const run = await server.waitForRun(created.id, ['completed']);
    await server.close();

    server = await startTestServer({}, db);
    const metrics = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    const seconds = metrics.value('oddswatch_platform_last_success_timestamp_seconds', { platform: 'silverstake' });
    expect(Math.abs(seconds - Date.parse(run.steps[0]!.finishedAt!) / 1000)).toBeLessThan(1);
    expect(metrics.samples('oddswatch_platform_last_success_timestamp_seconds').map((sample) => sample.labels.platform)).toEqual(['silverstake']);
  });
});
