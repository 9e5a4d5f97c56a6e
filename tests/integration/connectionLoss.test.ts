import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRun as startRunDirectly } from '../../src/runs/startRun.js';
import type { ApiErrorBody, RunDetail } from '../../src/shared/contract.js';
import { connectSse } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const GRACE_MS = 400;
let server: TestServer;
const feeds = () => server.platforms.simulated!;

beforeAll(async () => {
  server = await startTestServer({ CONNECTION_GRACE_MS: String(GRACE_MS), SCRAPE_CONCURRENCY: '1' });
});
afterAll(async () => server?.close());
beforeEach(() => {
  for (const name of server.platforms.names) feeds().set(name, { latencyMs: 20, pages: 2, failureRate: 0, hang: false });
});

async function post(body: unknown): Promise<Response> {
  return server.api('/api/runs', { method: 'POST', json: body });
}
async function observedRun(platforms: string[]): Promise<RunDetail> {
  const response = await post({ platforms, observe: true });
  expect(response.status).toBe(202);
  return (await response.json()) as RunDetail;
}

describe('connection guard', () => {
  it('fails an observed run whose only watcher leaves: in-flight platform saved, later ones never started', async () => {
    for (const name of ['northwind', 'luckyowl', 'harborline']) feeds().set(name, { latencyMs: 150, pages: 4 });
    const before = { luckyowl: feeds().requests('luckyowl'), harborline: feeds().requests('harborline') };
    const run = await observedRun(['northwind', 'luckyowl', 'harborline']);
    expect(run.trigger).toBe('api-stream');
    const watcher = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await watcher.waitForEvent((event) => event.event === 'platform.progress');
    const disconnectedAt = Date.now();
    watcher.close();

    const ended = await server.waitForRun(run.id, ['connection_failed', 'completed', 'partial', 'failed']);
    const elapsed = Date.now() - disconnectedAt;
    expect(ended.status).toBe('connection_failed');
    expect(ended.failureReason).toBe('connection_lost');
    const steps = Object.fromEntries(ended.steps.map((step) => [step.platform, step]));
    expect(steps.northwind!.status).toBe('completed'); // in flight when the watcher left: finished and saved
    expect(steps.northwind!.eventsFound).toBeGreaterThan(0);
    expect(steps.harborline!.status).toBe('skipped');
    expect(feeds().requests('harborline')).toBe(before.harborline);
    const [odds] = await server.db.query<{ n: number }>(`select count(*)::int as n from odds where run_id = $1 and platform = 'northwind'`, [run.id]);
    expect(odds!.n).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS);
    expect(elapsed).toBeLessThan(GRACE_MS + 2_000);

    const warning = server.logs.find((line) => line.run_id === run.id && line.level === 'warn' && line.actor === 'connection_guard')!;
    expect(warning).toMatchObject({ trigger: 'api-stream', status: 'connection_failed' });
    expect(warning.platforms_done).toContain('northwind');
    expect(warning.platforms_not_done).toContain('harborline');
    expect(warning.unwatched_ms).toBeGreaterThanOrEqual(GRACE_MS);
    console.log(`disconnect -> connection_failed: ${elapsed} ms (grace ${GRACE_MS} ms)`);
  });

  it('keeps a run alive when its watcher comes back within the grace period', async () => {
    for (const name of ['northwind', 'luckyowl', 'harborline']) feeds().set(name, { latencyMs: 120, pages: 3 });
    const run = await observedRun(['northwind', 'luckyowl', 'harborline']);
    const first = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await first.waitForEvent((event) => event.event === 'platform.progress');
    first.close();
    const second = await connectSse(`${server.url}/api/runs/${run.id}/events`, { lastEventId: first.events.at(-1)!.id });
    await second.ended;
    expect(second.events.at(-1)!.data).toMatchObject({ type: 'run.finished', data: { status: 'completed' } });
    expect((await server.waitForRun(run.id, ['completed'])).status).toBe('completed');
  });

  it('completes a run whose watcher leaves during the last platform', async () => {
    feeds().set('luckyowl', { latencyMs: 300, pages: 3 });
    const run = await observedRun(['northwind', 'luckyowl']);
    const watcher = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await watcher.waitForEvent((event) => event.event === 'platform.started' && event.data.type === 'platform.started' && event.data.data.platform === 'luckyowl');
    watcher.close();
    const ended = await server.waitForRun(run.id, ['completed', 'connection_failed', 'partial', 'failed']);
    expect(ended.status).toBe('completed');
  });

  it('fails an observed run that nobody ever watches, once the grace period is over', async () => {
    feeds().set('northwind', { latencyMs: 200, pages: 3 });
    const run = await observedRun(['northwind', 'redfox']);
    const ended = await server.waitForRun(run.id, ['completed', 'connection_failed', 'partial', 'failed']);
    expect(ended.status).toBe('connection_failed');
    expect(ended.steps.find((step) => step.platform === 'redfox')!.status).toBe('skipped');
  });

  it('never fails scheduled or plain api runs for lack of watchers', async () => {
    feeds().set('northwind', { latencyMs: 200, pages: 3 });
    const scheduled = await startRunDirectly(server.engine, { trigger: 'scheduled', platforms: ['northwind', 'redfox'] });
    expect((await server.waitForRun(scheduled.id, ['completed', 'connection_failed'])).status).toBe('completed');
    const api = (await (await post({ platforms: ['northwind', 'redfox'] })).json()) as RunDetail;
    const watcher = await connectSse(`${server.url}/api/runs/${api.id}/events`);
    await watcher.waitForEvents(2);
    watcher.close();
    expect((await server.waitForRun(api.id, ['completed', 'connection_failed'])).status).toBe('completed');
  });

  it('counts a dashboard on the global stream as a watcher', async () => {
    feeds().set('northwind', { latencyMs: 200, pages: 3 });
    const dashboard = await connectSse(`${server.url}/api/events`);
    const run = await observedRun(['northwind', 'redfox']);
    expect((await server.waitForRun(run.id, ['completed', 'connection_failed'])).status).toBe('completed');
    dashboard.close();
  });
});

describe('retry of a connection_failed run', () => {
  it('retries once; a second retry is 409, other runs are not retryable', async () => {
    feeds().set('northwind', { latencyMs: 200, pages: 3 });
    const lost = await observedRun(['northwind', 'redfox']);
    await server.waitForRun(lost.id, ['connection_failed']);

    const dashboard = await connectSse(`${server.url}/api/events`);
    const retry = await post({ retryOf: lost.id });
    expect(retry.status).toBe(202);
    const retryRun = (await retry.json()) as RunDetail;
    expect(retryRun).toMatchObject({ trigger: 'retry', retryOf: lost.id, platforms: ['northwind', 'redfox'] });
    expect((await server.waitForRun(retryRun.id, ['completed', 'connection_failed'])).status).toBe('completed');
    dashboard.close();

    const again = await post({ retryOf: lost.id });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ApiErrorBody).error).toMatchObject({ code: 'already_retried', details: { retriedBy: retryRun.id } });
    expect(((await (await server.api(`/api/runs/${lost.id}`)).json()) as RunDetail).retriedBy).toBe(retryRun.id);

    const notLost = await post({ retryOf: retryRun.id });
    expect(notLost.status).toBe(400);
    expect(((await notLost.json()) as ApiErrorBody).error.code).toBe('not_retryable');
    expect((await post({ retryOf: 987_654 })).status).toBe(404);
  });

  it('lets only one of two concurrent retries through', async () => {
    feeds().set('northwind', { latencyMs: 200, pages: 3 });
    const lost = await observedRun(['northwind', 'redfox']);
    await server.waitForRun(lost.id, ['connection_failed']);
    const responses = await Promise.all([post({ retryOf: lost.id }), post({ retryOf: lost.id })]);
    expect(responses.map((response) => response.status).sort()).toEqual([202, 409]);
    const created = (await responses.find((response) => response.status === 202)!.json()) as RunDetail;
    await server.waitForRun(created.id, ['completed', 'connection_failed']);
  });
});
