import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * POST /api/runs/:id/cancel on the replica running the run: ended `cancelled` at once, its finished steps
 * kept, its running ones stopped, its pending ones skipped, counted, logged and streamed; a second cancel and an
 * unknown run are refused. (Across replicas: replicas-cancel.test.ts.)
 */
const TOKEN = 'cancel-test-operator-token';
let db: TestDatabase;
let server: TestServer;
let stream: SseClient;

const post = (path: string, token: string | null = TOKEN) => fetch(`${server.url}${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ OPERATOR_TOKEN: TOKEN }, db);
  stream = await connectSse(`${server.url}/api/events`);
});
afterAll(async () => {
  stream?.close();
  await server?.close();
  await db?.drop();
});

describe('cancelling a run', () => {
  it('ends an active run cancelled at once: finished steps kept, running ones stopped, counted, logged, streamed; then a new run may start', async () => {
    // redfox answers at once, luckyowl hangs: one step done, one running when the cancel comes.
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const started = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['redfox', 'luckyowl'] }) });
    expect(started.status).toBe(202);
    const run = (await started.json()) as RunDetail;
    await waitFor(async () => {
      const detail = (await (await fetch(`${server.url}/api/runs/${run.id}`)).json()) as RunDetail;
      const steps = new Map(detail.steps.map((step) => [step.platform, step.status]));
      return steps.get('redfox') === 'completed' && steps.get('luckyowl') === 'running' ? detail : undefined;
    }, { what: 'redfox done and luckyowl hanging' });

    const cancelledAt = Date.now();
    const response = await post(`/api/runs/${run.id}/cancel`);
    expect(response.status).toBe(200);
    const cancelled = (await response.json()) as RunDetail;
    expect(cancelled).toMatchObject({ id: run.id, status: 'cancelled', failureReason: null });
    expect(cancelled.finishedAt).not.toBeNull();
    const steps = new Map(cancelled.steps.map((step) => [step.platform, step]));
    expect(steps.get('redfox')).toMatchObject({ status: 'completed', error: null });
    expect(steps.get('luckyowl')).toMatchObject({ status: 'failed', error: 'stopped: the run was cancelled', reason: null });
    // Each step names the replica that scraped it: this one (its owner id), on the step and in platform.started.
    const ownerId = server.logs.find((entry) => entry.msg === 'oddswatch listening')!.owner_id;
    expect(typeof ownerId).toBe('string');
    expect(cancelled.steps.map((step) => step.replica)).toEqual([ownerId, ownerId]);
    const startedEvents = stream.events.filter((event) => event.data.type === 'platform.started' && event.data.runId === run.id);
    expect(startedEvents.map((event) => (event.data.data as { replica?: string }).replica)).toEqual([ownerId, ownerId]);

    const finished = await stream.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 10_000);
    expect(finished.data.data).toMatchObject({ status: 'cancelled', failureReason: null });
    const line = server.logs.find((entry) => entry.run_id === run.id && entry.actor === 'operator')!;
    expect(line).toMatchObject({ level: 'info', status: 'cancelled', msg: 'run cancelled' });
    const metrics = await MetricsSnapshot.scrape(`${server.url}/metrics`);
    expect(metrics.value('oddswatch_runs_total', { trigger: 'api', status: 'cancelled' })).toBe(1);
    expect(metrics.value('oddswatch_runs_total', { trigger: 'scheduled', status: 'cancelled' })).toBe(0);

    // The runner stopped: the hanging platform (which only its timeout would otherwise end) was aborted at once.
    const aborted = await waitFor(() => server.logs.find((entry) => entry.run_id === run.id && entry.platform === 'luckyowl' && entry.msg === 'platform scrape stopped: its run had already ended'), { timeoutMs: 5_000, what: "luckyowl's scrape stopped" });
    expect(aborted).toMatchObject({ outcome: 'aborted' });
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    // Nothing is active, and a new run may start.
    server.platforms.simulated!.set('luckyowl', { hang: false });
    await waitFor(async () => ((await (await fetch(`${server.url}/api/runs/active`)).json()) as { run: RunDetail | null }).run === null ? true : undefined, { what: 'no active run' });
    const next = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['redfox'] }) });
    expect(next.status).toBe(202);
    await server.waitForRun(((await next.json()) as RunDetail).id, ['completed']);
  });

  it('refuses a run that already ended (409 run_finished with its status), an unknown run (404), a bad id (400) and a missing token (401)', async () => {
    const started = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['redfox'] }) });
    const ended = await server.waitForRun(((await started.json()) as RunDetail).id, ['completed']);
    const again = await post(`/api/runs/${ended.id}/cancel`);
    expect(again.status).toBe(409);
    const body = (await again.json()) as ApiErrorBody;
    expect(body.error).toMatchObject({ code: 'run_finished', details: { status: 'completed' } });
    expect(body.error.message).toMatch(/already ended completed/);
    const unknown = await post('/api/runs/999999/cancel');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ApiErrorBody).error.code).toBe('not_found');
    expect((await post('/api/runs/abc/cancel')).status).toBe(400);
    expect((await post(`/api/runs/${ended.id}/cancel`, null)).status).toBe(401);
    // A refused cancel changes nothing.
    const [row] = await db.query<{ status: string }>(`select status from runs where id = $1`, [ended.id]);
    expect(row!.status).toBe('completed');
  });
});
