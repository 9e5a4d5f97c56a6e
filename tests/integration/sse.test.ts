import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { connectSse } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SSE_HEARTBEAT_MS: '200', SSE_RETRY_MS: '1500', GLOBAL_REPLAY_WINDOW: '20' });
});
afterAll(async () => server?.close());
beforeEach(() => {
  for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 20, pages: 2, failureRate: 0, hang: false });
});

async function startRun(body: unknown): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: body });
  expect(response.status).toBe(202);
  return (await response.json()) as RunDetail;
}

describe('GET /api/runs/:id/events', () => {
  it('sends the SSE headers, retry once, heartbeat comments, and closes after run.finished only', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 150, pages: 3 });
    const run = await startRun({ platforms: ['northwind', 'redfox'] });
    const client = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toContain('text/event-stream');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers['content-encoding']).toBeUndefined();
    await client.ended;
    expect(client.retry).toBe(1500);
    expect(client.comments).toContain('ping');
    const types = client.events.map((event) => event.event);
    expect(types.at(-1)).toBe('run.finished');
    // redfox completes long before northwind: a platform completion must not have closed the stream
    const firstCompletion = types.indexOf('platform.completed');
    expect(firstCompletion).toBeGreaterThan(-1);
    expect(firstCompletion).toBeLessThan(types.length - 2);
    expect(client.events.map((event) => Number(event.id))).toEqual(client.events.map((_, index) => index + 1));
    expect(client.events.every((event) => event.data.runId === run.id && event.data.type === event.event)).toBe(true);
  });

  it('replays exactly the missed events after Last-Event-ID, in order, then goes live', async () => {
    server.platforms.simulated!.set('harborline', { latencyMs: 120, pages: 6 });
    const run = await startRun({ platforms: ['harborline'] });
    const first = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await first.waitForEvents(3);
    first.close();
    const lastSeen = first.events[2]!.id!;
    await server.waitForRun(run.id, ['running']);
    await waitFor(async () => {
      const [row] = await server.db.query<{ n: number }>('select max(seq)::int as n from run_events where run_id = $1', [run.id]);
      return row!.n >= 6; // more was published while we were away
    });
    const second = await connectSse(`${server.url}/api/runs/${run.id}/events`, { lastEventId: lastSeen });
    await second.ended;
    const ids = second.events.map((event) => Number(event.id));
    expect(ids[0]).toBe(Number(lastSeen) + 1);
    expect(ids).toEqual(ids.map((_, index) => Number(lastSeen) + 1 + index));
    expect(second.events.at(-1)!.event).toBe('run.finished');
    const [total] = await server.db.query<{ n: number }>('select max(seq)::int as n from run_events where run_id = $1', [run.id]);
    expect(ids.at(-1)).toBe(total!.n);
  });

  it('accepts ?lastEventId= for clients that cannot set headers', async () => {
    const run = await startRun({ platforms: ['bluepeak'] });
    await server.waitForRun(run.id, ['completed']);
    const client = await connectSse(`${server.url}/api/runs/${run.id}/events?lastEventId=2`);
    await client.ended;
    expect(Number(client.events[0]!.id)).toBe(3);
  });

  it('replays and closes a stream opened on a finished run; 204 when nothing is left', async () => {
    const run = await startRun({ platforms: ['silverstake'] });
    await server.waitForRun(run.id, ['completed']);
    const client = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await client.ended;
    expect(client.events[0]!.event).toBe('run.created');
    expect(client.events.at(-1)!.event).toBe('run.finished');
    const done = await connectSse(`${server.url}/api/runs/${run.id}/events`, { lastEventId: client.events.at(-1)!.id });
    expect(done.status).toBe(204);
    done.close();
  });

  it('answers 404 for an unknown run and 400 for a malformed Last-Event-ID', async () => {
    const unknown = await server.api('/api/runs/99999999/events');
    expect(unknown.status).toBe(404);
    const run = await startRun({ platforms: ['redfox'] });
    for (const bad of ['abc', '-3', '1.5', '99999999999999999999']) {
      const response = await server.api(`/api/runs/${run.id}/events`, { headers: { 'last-event-id': bad } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    await server.waitForRun(run.id, ['completed']);
  });

  it('has no gap and no duplicate while 1,000 events are published and clients resume concurrently', async () => {
    // The runner coalesces progress to one event a second, so the 1,000 events are recorded here, through the
    // same event log and bus, while the run hangs on its feed; then the run is ended (run.finished closes streams).
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const run = await startRun({ platforms: ['luckyowl'] });
    await server.waitForRun(run.id, ['running']);
    const publishing = (async () => {
      for (let index = 1; index <= 1000; index += 1) {
        await server.events.record(run.id, 'platform.progress', {
          runId: run.id, platform: 'luckyowl', eventsFound: index, elapsedMs: index, platformsDone: 0, platformsTotal: 1,
        });
      }
      await server.runs.finish(run.id, 'failed', 'stale', { actor: 'sse-test' });
    })();
    const received: number[] = [];
    let cursor: string | undefined;
    // Reconnect repeatedly mid-stream, each time resuming from the last id seen.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const client = await connectSse(`${server.url}/api/runs/${run.id}/events`, cursor ? { lastEventId: cursor } : {});
      if (client.status === 204) break;
      await waitFor(() => client.events.length >= 40 || client.isEnded(), { timeoutMs: 10_000 });
      client.close();
      received.push(...client.events.map((event) => Number(event.id)));
      cursor = client.events.at(-1)?.id ?? cursor;
      if (client.events.at(-1)?.event === 'run.finished') break;
    }
    await publishing;
    const final = await connectSse(`${server.url}/api/runs/${run.id}/events`, cursor ? { lastEventId: cursor } : {});
    if (final.status === 200) {
      await final.ended;
      received.push(...final.events.map((event) => Number(event.id)));
    } else final.close();
    const [row] = await server.db.query<{ n: number }>('select max(seq)::int as n from run_events where run_id = $1', [run.id]);
    expect(row!.n).toBeGreaterThanOrEqual(1000);
    expect(received).toEqual(Array.from({ length: row!.n }, (_, index) => index + 1));
  }, 60_000);
});

describe('GET /api/events (global stream)', () => {
  it('carries run and scheduler events with global ids, live from now on', async () => {
    const client = await connectSse(`${server.url}/api/events`);
    const run = await startRun({ platforms: ['redfox'] });
    await client.waitForEvent((event) => event.event === 'run.finished' && event.data.runId === run.id);
    await server.api('/api/scheduler/jobs/scrape_all_platforms', { method: 'PATCH', json: { intervalSeconds: 600 } });
    const changed = await client.waitForEvent((event) => event.event === 'scheduler.changed');
    expect(changed.data.runId).toBeNull();
    const ids = client.events.map((event) => Number(event.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(client.events.map((event) => event.event)).toEqual(expect.arrayContaining(['run.created', 'run.started', 'platform.started', 'platform.progress', 'platform.completed', 'run.finished']));
    client.close();
  });

  it('resumes after Last-Event-ID within the window, and asks for a resync beyond it', async () => {
    const client = await connectSse(`${server.url}/api/events`);
    const run = await startRun({ platforms: ['bluepeak'] });
    await client.waitForEvent((event) => event.event === 'run.finished' && event.data.runId === run.id);
    client.close();
    const from = client.events[1]!;
    const resumed = await connectSse(`${server.url}/api/events`, { lastEventId: from.id });
    await resumed.waitForEvents(client.events.length - 2);
    expect(resumed.events.map((event) => event.id)).toEqual(client.events.slice(2).map((event) => event.id));
    resumed.close();

    // 20 events fit in the window; a cursor further back than that gets `resync`.
    for (let index = 0; index < 3; index += 1) await server.waitForRun((await startRun({ platforms: ['northwind', 'redfox'] })).id, ['completed']);
    const stale = await connectSse(`${server.url}/api/events`, { lastEventId: from.id });
    const resync = await stale.waitForEvent((event) => event.event === 'resync');
    expect(resync.data).toMatchObject({ type: 'resync', data: { reason: 'cursor_too_old' } });
    stale.close();
    const future = await connectSse(`${server.url}/api/events`, { lastEventId: 999_999_999 });
    expect((await future.waitForEvent((event) => event.event === 'resync')).data).toMatchObject({ data: { reason: 'cursor_unknown' } });
    future.close();
  });
});

/** The bytes of a stream read over a raw socket (no HTTP client to undo the framing), until run.finished and the end. */
async function rawStream(version: '1.0' | '1.1', runId: number): Promise<string> {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('latin1');
  const ended = new Promise((resolve) => {
    socket.once('close', resolve);
    // HTTP/1.1 keeps the connection open after the last chunk.
    socket.on('data', (data: string) => {
      received += data;
      if (received.endsWith('\r\n0\r\n\r\n')) resolve(undefined);
    });
  });
  socket.write(`GET /api/runs/${runId}/events HTTP/${version}\r\nHost: ${hostname}\r\n\r\n`);
  await ended;
  socket.destroy();
  return received;
}

describe('framing written straight to the socket (sse/subscription.ts)', () => {
  it('HTTP/1.1: every frame is one well-formed chunk, and the body ends with the last chunk', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 60, pages: 3 });
    const run = await startRun({ platforms: ['northwind', 'redfox'] });
    const raw = await rawStream('1.1', run.id);
    const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)];
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    let rest = body;
    const frames: string[] = [];
    while (rest.length > 0) {
      const line = rest.indexOf('\r\n');
      const size = Number.parseInt(rest.slice(0, line), 16);
      expect(Number.isNaN(size)).toBe(false);
      if (size === 0) break;
      frames.push(rest.slice(line + 2, line + 2 + size));
      expect(rest.slice(line + 2 + size, line + 4 + size)).toBe('\r\n');
      rest = rest.slice(line + 4 + size);
    }
    expect(rest).toBe('0\r\n\r\n');
    const text = frames.join('');
    expect(text.startsWith('retry: ')).toBe(true);
    expect(text).toContain('event: platform.completed');
    expect(text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: run.finished\nid: \d+\ndata: \{/);
  });

  it('HTTP/1.0: the frames as they are, the body ended by closing the connection', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 60, pages: 3 });
    const run = await startRun({ platforms: ['northwind', 'redfox'] });
    const raw = await rawStream('1.0', run.id);
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    expect(raw.toLowerCase()).not.toContain('transfer-encoding: chunked');
    expect(body.slice(0, 40)).toMatch(/^retry: /);
    const events = body.trimEnd().split('\n\n').slice(1).filter((frame) => !frame.startsWith(':')); // heartbeats aside
    expect(events.every((frame) => /^event: [a-z.]+\nid: \d+\ndata: \{.*\}$/s.test(frame))).toBe(true);
    expect(events.at(-1)).toMatch(/^event: run.finished/);
    expect(events.filter((frame) => frame.startsWith('event: platform.completed'))).toHaveLength(2);
  });
});

describe('resync cursor', () => {
  it('gives resync the latest global id, so a reconnect with it resumes instead of asking again', async () => {
    const client = await connectSse(`${server.url}/api/events`, { lastEventId: 999_999_998 });
    const resync = await client.waitForEvent((event) => event.event === 'resync');
    client.close();
    const latest = await server.events.latestGlobalId();
    expect(Number(resync.id)).toBe(latest);
    const again = await connectSse(`${server.url}/api/events`, { lastEventId: resync.id });
    const run = await startRun({ platforms: ['redfox'] });
    await again.waitForEvent((event) => event.event === 'run.finished' && event.data.runId === run.id);
    expect(again.events.some((event) => event.event === 'resync')).toBe(false);
    const finished = again.events.find((event) => event.event === 'run.finished')!;
    expect(finished.data).toMatchObject({ data: { run: { steps: [{ platform: 'redfox', status: 'completed' }] } } });
    again.close();
  });
});
