import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, RunDetail, RunPage } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const TOKEN = 'operator-token-for-tests-0123456789';
let open: TestServer;
let secured: TestServer;

beforeAll(async () => {
  open = await startTestServer();
  secured = await startTestServer({ OPERATOR_TOKEN: TOKEN, TRACE_URL_TEMPLATE: 'http://grafana.test/explore?trace={traceId}' });
});
afterAll(async () => {
  await open?.close();
  await secured?.close();
});

async function expectError(response: Response, status: number, code: string): Promise<ApiErrorBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as ApiErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.error.message).toBeTruthy();
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(ts|js):\d+/); // never a stack trace
  return body;
}

async function finishedRun(server: TestServer, body: unknown = {}): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: body, headers: server === secured ? { authorization: `Bearer ${TOKEN}` } : {} });
  expect(response.status).toBe(202);
  const run = (await response.json()) as RunDetail;
  return server.waitForRun(run.id, ['completed', 'partial', 'failed']);
}

describe('POST /api/runs', () => {
  it('starts a run with no body at all (curl -X POST) and returns it with its platform steps', async () => {
    const response = await fetch(`${open.url}/api/runs`, { method: 'POST' });
    expect(response.status).toBe(202);
    const run = (await response.json()) as RunDetail;
    expect(run.trigger).toBe('api');
    expect(['pending', 'running']).toContain(run.status);
    expect(run.steps.map((step) => step.platform)).toEqual(open.platforms.names);
    await open.waitForRun(run.id, ['completed']);
  });

  it('reads a body without Content-Type, or an empty body of another type, as no body at all', async () => {
    const unlabelled = { body: new TextEncoder().encode('{"platforms": ["redfox"]}') };
    const emptyText = { body: '', headers: { 'content-type': 'text/plain' } };
    for (const init of [unlabelled, emptyText]) {
      const response = await fetch(`${open.url}/api/runs`, { method: 'POST', ...init });
      expect(response.status).toBe(202);
      const run = (await response.json()) as RunDetail;
      expect(run.platforms).toEqual(open.platforms.names);
      await open.waitForRun(run.id, ['completed']);
    }
  });

  it('scrapes only the platforms asked for', async () => {
    const run = await finishedRun(open, { platforms: ['redfox', 'bluepeak', 'redfox'] });
    expect(run.platforms).toEqual(['redfox', 'bluepeak']);
    expect(run.steps).toHaveLength(2);
  });

  it.each([
    ['malformed JSON', '{"platforms": [', 'application/json', 400, 'invalid_json'],
    ['a wrong type', '{"platforms": "redfox"}', 'application/json', 400, 'invalid_request'],
    ['an unknown field', '{"platfroms": ["redfox"]}', 'application/json', 400, 'invalid_request'],
    ['a non-boolean observe', '{"observe": "yes"}', 'application/json', 400, 'invalid_request'],
    ['an empty platform list', '{"platforms": []}', 'application/json', 400, 'invalid_request'],
    ['a JSON array', '[1,2]', 'application/json', 400, 'invalid_request'],
    ['a non-JSON content type', 'platforms=redfox', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
  ])('rejects %s with a clear 4xx and starts nothing', async (_case, body, type, status, code) => {
    const before = ((await (await open.api('/api/runs?limit=100')).json()) as RunPage).items.length;
    await expectError(await open.api('/api/runs', { method: 'POST', body, headers: { 'content-type': type } }), status, code);
    const after = ((await (await open.api('/api/runs?limit=100')).json()) as RunPage).items.length;
    expect(after).toBe(before);
  });

  it('rejects an unknown platform, naming it and the known ones', async () => {
    const body = await expectError(await open.api('/api/runs', { method: 'POST', json: { platforms: ['redfox', 'nosuchbook'] } }), 400, 'unknown_platform');
    expect(body.error.details).toMatchObject({ unknown: ['nosuchbook'], known: open.platforms.names });
  });

  it('rejects a 1 MB body as too large', async () => {
    const huge = JSON.stringify({ platforms: ['x'.repeat(1024 * 1024)] });
    await expectError(await open.api('/api/runs', { method: 'POST', body: huge, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
  });

  it('answers 409 with the active run id while a run is active', async () => {
    open.platforms.simulated!.set('northwind', { latencyMs: 400 });
    try {
      const first = (await (await open.api('/api/runs', { method: 'POST', json: { platforms: ['northwind'] } })).json()) as RunDetail;
      const body = await expectError(await open.api('/api/runs', { method: 'POST', json: {} }), 409, 'run_active');
      expect(body.error.details).toEqual({ activeRunId: first.id });
      await open.waitForRun(first.id, ['completed']);
    } finally {
      open.platforms.simulated!.set('northwind', { latencyMs: 20 });
    }
  });
});

describe('GET /api/runs', () => {
  it('pages newest first with an opaque cursor, and filters by status and trigger', async () => {
    const ids: number[] = [];
    for (let index = 0; index < 3; index += 1) ids.push((await finishedRun(open, { platforms: ['silverstake'] })).id);
    const first = (await (await open.api('/api/runs?limit=2')).json()) as RunPage;
    expect(first.items).toHaveLength(2);
    expect(first.items[0]!.id).toBeGreaterThan(first.items[1]!.id);
    expect(first.nextCursor).toBeTruthy();
    const second = (await (await open.api(`/api/runs?limit=2&cursor=${first.nextCursor}`)).json()) as RunPage;
    expect(second.items[0]!.id).toBeLessThan(first.items[1]!.id);

    const completedApi = (await (await open.api('/api/runs?status=completed&trigger=api&limit=100')).json()) as RunPage;
    expect(completedApi.items.length).toBeGreaterThanOrEqual(3);
    expect(completedApi.items.every((run) => run.status === 'completed' && run.trigger === 'api')).toBe(true);
    const none = (await (await open.api('/api/runs?status=connection_failed')).json()) as RunPage;
    expect(none.items).toEqual([]);
    expect(none.nextCursor).toBeNull();
  });

  it.each([
    ['status=done', 'invalid_request'],
    ['trigger=cron', 'invalid_request'],
    ['limit=0', 'invalid_request'],
    ['limit=1000', 'invalid_request'],
    ['limit=ten', 'invalid_request'],
    ['cursor=bm90LWEtY3Vyc29y', 'invalid_cursor'],
    ['color=blue', 'invalid_request'],
  ])('rejects ?%s', async (query, code) => {
    await expectError(await open.api(`/api/runs?${query}`), 400, code);
  });
});

describe('GET /api/runs/:id and /api/runs/active', () => {
  it('returns a run with its platform steps', async () => {
    const run = await finishedRun(open, { platforms: ['harborline'] });
    const fetched = (await (await open.api(`/api/runs/${run.id}`)).json()) as RunDetail;
    expect(fetched).toMatchObject({ id: run.id, status: 'completed', platformsTotal: 1, platformsDone: 1 });
    expect(fetched.steps[0]).toMatchObject({ platform: 'harborline', status: 'completed', eventsFound: 10, error: null });
    expect(fetched.durationMs).toBeGreaterThan(0);
  });

  it.each(['abc', '-1', '0', '1.5', '9999999999999999999', '1e3'])('rejects the id %s with 400', async (id) => {
    await expectError(await open.api(`/api/runs/${id}`), 400, 'invalid_request');
  });

  it('answers 404 for an unknown run', async () => {
    await expectError(await open.api('/api/runs/987654321'), 404, 'not_found');
  });

  it('shows the active run, or null', async () => {
    expect(await (await open.api('/api/runs/active')).json()).toEqual({ run: null });
    open.platforms.simulated!.set('redfox', { latencyMs: 300 });
    try {
      const run = (await (await open.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
      const active = (await (await open.api('/api/runs/active')).json()) as { run: RunDetail };
      expect(active.run.id).toBe(run.id);
      await open.waitForRun(run.id, ['completed']);
    } finally {
      open.platforms.simulated!.set('redfox', { latencyMs: 20 });
    }
  });
});

describe('GET /api/platforms, /api/meta, health', () => {
  it('lists configured platforms with their last outcome', async () => {
    await finishedRun(open, { platforms: ['luckyowl'] });
    const { items } = (await (await open.api('/api/platforms')).json()) as { items: { name: string; lastOutcome: string | null; lastSuccessAt: string | null }[] };
    expect(items.map((item) => item.name)).toEqual(open.platforms.names);
    const luckyowl = items.find((item) => item.name === 'luckyowl')!;
    expect(luckyowl.lastOutcome).toBe('completed');
    expect(Date.parse(luckyowl.lastSuccessAt!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('serves /healthz, /readyz and /api/meta', async () => {
    expect(await (await open.api('/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await open.api('/readyz')).json()).toEqual({ status: 'ready' });
    expect(await (await open.api('/api/meta')).json()).toMatchObject({ authRequired: false, platforms: open.platforms.names });
    expect(await (await secured.api('/api/meta')).json()).toMatchObject({ authRequired: true, traceUrlTemplate: 'http://grafana.test/explore?trace={traceId}' });
    // The trace view links a trace the service no longer holds to TRACE_URL_TEMPLATE: null when there is none.
    expect(await (await open.api('/api/meta')).json()).toMatchObject({ traceUrlTemplate: null });
  });

  it('answers unknown API routes with a JSON 404', async () => {
    await expectError(await open.api('/api/nothing-here'), 404, 'not_found');
  });
});

describe('operator token', () => {
  it('is required on mutating routes when OPERATOR_TOKEN is set', async () => {
    await expectError(await secured.api('/api/runs', { method: 'POST', json: {} }), 401, 'unauthorized');
    await expectError(await secured.api('/api/runs', { method: 'POST', json: {}, headers: { authorization: 'Bearer wrong-token' } }), 401, 'unauthorized');
    await expectError(await secured.api('/api/runs', { method: 'POST', json: {}, headers: { authorization: TOKEN } }), 401, 'unauthorized');
    await expectError(await secured.api('/api/scheduler/pause', { method: 'POST' }), 401, 'unauthorized');
    const runs = (await (await secured.api('/api/runs')).json()) as RunPage;
    expect(runs.items).toEqual([]); // nothing was started by the rejected calls
  });

  it('lets the right token through, and leaves reads open', async () => {
    const run = await finishedRun(secured, { platforms: ['redfox'] });
    expect(run.status).toBe('completed');
    expect((await secured.api(`/api/runs/${run.id}`)).status).toBe(200);
  });

  it('is not needed when OPERATOR_TOKEN is unset', async () => {
    expect((await open.api('/api/scheduler/resume', { method: 'POST' })).status).toBe(200);
  });

  it('never logs the authorization header', async () => {
    await secured.api('/api/runs', { method: 'POST', json: {}, headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(JSON.stringify(secured.logs)).not.toContain(TOKEN);
  });
});
