import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { connectSse } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Every integer the API reads, at the edges of what its column holds: the run stream's cursor compares
 * with run_events.seq (int4), the global stream's with run_events.id (bigserial, handed out as JSON
 * numbers: exact up to 2^53 - 1), run ids with runs.id (bigserial). Out of range is a 400 in the one
 * error shape, never a 500 (before: Last-Event-ID 2147483648 answered 500 on a finished run and cut a
 * running run's stream with an error log).
 */
const INT4_MAX = '2147483647';
const PAST_INT4 = '2147483648';
const SAFE_MAX = '9007199254740991';
const PAST_SAFE = '9007199254740992';
const INT8_MAX = '9223372036854775807';
const PAST_INT8 = '9223372036854775808';
const MALFORMED = ['-1', '007', '+1', '1e3', '1.5', '1.0', '0x10', 'Infinity', '9'.repeat(40)];

let server: TestServer;
let finished: RunDetail;
beforeAll(async () => {
  server = await startTestServer();
  const response = await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } });
  finished = await server.waitForRun(((await response.json()) as RunDetail).id, ['completed']);
});
afterAll(async () => server?.close());

async function expect400(response: Response, what: string): Promise<void> {
  // An event stream opened by mistake is never read to its end.
  const json = (response.headers.get('content-type') ?? '').includes('json');
  const text = json ? await response.text() : `(${response.headers.get('content-type')})`;
  if (!json) await response.body?.cancel();
  expect(response.status, `${what}: ${text}`).toBe(400);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body.error.code, what).toMatch(/^invalid_/);
  expect(typeof body.error.message, what).toBe('string');
}

/** The cursor as the header, then as the `?lastEventId=` query. */
const cursorRequests = (path: string, cursor: string) => [
  { what: `${path} Last-Event-ID: ${cursor}`, send: () => server.api(path, { headers: { 'last-event-id': cursor } }) },
  { what: `${path}?lastEventId=${cursor}`, send: () => server.api(`${path}?lastEventId=${encodeURIComponent(cursor)}`) },
];

describe('integer parameters at the edges of their columns', () => {
  it('run stream cursor (int4 seq): up to 2147483647 accepted, beyond it and malformed 400, on a finished run, header and query alike', async () => {
    const path = `/api/runs/${finished.id}/events`;
    for (const request of cursorRequests(path, INT4_MAX)) expect((await request.send()).status, request.what).toBe(204);
    for (const cursor of [PAST_INT4, SAFE_MAX, PAST_SAFE, INT8_MAX, PAST_INT8, ...MALFORMED]) {
      for (const request of cursorRequests(path, cursor)) await expect400(await request.send(), request.what);
    }
    expect(server.logs.filter((line) => line.msg === 'unhandled error')).toEqual([]);
  });

  it('run stream cursor on a running run: 400 before the stream opens, never an open stream cut with an error', async () => {
    // Slow enough to be running throughout, and it ends by itself.
    server.platforms.simulated!.set('luckyowl', { latencyMs: 300, pages: 10 });
    const response = await server.api('/api/runs', { method: 'POST', json: { platforms: ['luckyowl'] } });
    const running = (await response.json()) as RunDetail;
    await server.waitForRun(running.id, ['running']);
    for (const request of cursorRequests(`/api/runs/${running.id}/events`, PAST_INT4)) await expect400(await request.send(), request.what);
    const live = await connectSse(`${server.url}/api/runs/${running.id}/events`, { lastEventId: INT4_MAX });
    expect(live.status).toBe(200);
    await waitFor(() => live.retry !== undefined, { what: 'the stream to start' });
    expect(live.isEnded()).toBe(false);
    live.close();
    expect((await server.waitForRun(running.id, ['completed'], 20_000)).status).toBe('completed');
    expect(server.logs.filter((line) => line.msg === 'SSE stream failed' || line.msg === 'unhandled error')).toEqual([]);
  });

  it('global stream cursor (bigserial id): beyond the latest id a resync, up to 2^53 - 1; beyond and malformed 400', async () => {
    for (const cursor of [PAST_INT4, SAFE_MAX]) {
      for (const { what, send } of cursorRequests('/api/events', cursor)) {
        expect((await send()).status, what).toBe(200);
      }
      const stream = await connectSse(`${server.url}/api/events`, { lastEventId: cursor });
      const resync = await stream.waitForEvent((event) => event.event === 'resync');
      expect(resync.data.data).toMatchObject({ reason: 'cursor_unknown' });
      stream.close();
    }
    for (const cursor of [PAST_SAFE, INT8_MAX, PAST_INT8, ...MALFORMED]) {
      for (const request of cursorRequests('/api/events', cursor)) await expect400(await request.send(), request.what);
    }
  });

  it('route ids, limits, page tokens, retryOf and intervalSeconds: 400 past their range, never 500', async () => {
    const logsBefore = server.logs.length;
    for (const id of [PAST_INT4, SAFE_MAX]) expect((await server.api(`/api/runs/${id}`)).status, id).toBe(404);
    for (const id of ['0', PAST_SAFE, INT8_MAX, PAST_INT8, ...MALFORMED]) await expect400(await server.api(`/api/runs/${encodeURIComponent(id)}`), `/api/runs/${id}`);

    for (const path of ['/api/runs', '/api/odds', '/api/runs/history', '/api/platforms/redfox/history']) {
      for (const limit of ['0', '-1', '1.5', INT4_MAX, PAST_INT4, PAST_SAFE, PAST_INT8, '9'.repeat(40), '1e3', 'Infinity']) {
        await expect400(await server.api(`${path}?limit=${limit}`), `${path}?limit=${limit}`);
      }
    }
    const pageToken = (id: string) => Buffer.from(`r:${id}`).toString('base64url');
    expect((await server.api(`/api/runs?cursor=${pageToken(PAST_INT4)}`)).status).toBe(200);
    for (const id of [PAST_SAFE, PAST_INT8, '9'.repeat(40), '-1', '1e3']) await expect400(await server.api(`/api/runs?cursor=${pageToken(id)}`), `cursor r:${id}`);

    const post = (body: string) => server.api('/api/runs', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await post(`{"retryOf":${PAST_INT4}}`)).status).toBe(404);
    for (const value of [PAST_SAFE, PAST_INT8, '1e400', '1.5', '0', '-1']) await expect400(await post(`{"retryOf":${value}}`), `retryOf ${value}`);

    const patch = (body: string) => server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', body, headers: { 'content-type': 'application/json' } });
    for (const value of [INT4_MAX, PAST_INT4, PAST_SAFE, PAST_INT8, '1e400', '10.5', '0', '-1']) await expect400(await patch(`{"intervalSeconds":${value}}`), `intervalSeconds ${value}`);
    expect(server.logs.slice(logsBefore).filter((line) => line.msg === 'unhandled error')).toEqual([]);
  });
});
