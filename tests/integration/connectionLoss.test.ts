import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiErrorBody, PlatformHistory, RunDetail } from '../../src/shared/contract.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse, type SseClient } from '../helpers/sseClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** Shortened so a lost run shows sooner; the scrape pool keeps its defaults (every platform starts at once). */
const GRACE_MS = 400;
let server: TestServer;
const feeds = () => server.platforms.simulated!;
const scrape = () => MetricsSnapshot.scrape(`${server.url}/metrics`);
const TERMINAL = ['connection_failed', 'completed', 'partial', 'failed'] as const;
/** About 3 s per platform: in flight long after the grace has run out. */
const SLOW = { latencyMs: 150, pages: 20 };

beforeAll(async () => {
  server = await startTestServer({ CONNECTION_GRACE_MS: String(GRACE_MS) });
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
/** Waits until every one of `platforms` has read a page (platform.progress) on the watcher's stream. */
async function allInFlight(watcher: SseClient, platforms: string[]): Promise<void> {
  await waitFor(() => {
    const reading = new Set(watcher.events.filter((event) => event.data.type === 'platform.progress').map((event) => (event.data.data as { platform: string }).platform));
    return platforms.every((name) => reading.has(name));
  }, { timeoutMs: 20_000, what: `${platforms.join(', ')} all reading pages` });
}
const oddsOf = async (runId: number, platform: string) =>
  (await server.db.query<{ n: number }>(`select count(*)::int as n from odds where run_id = $1 and platform = $2`, [runId, platform]))[0]!.n;
const eventsWithOdds = async (runId: number, platform: string) =>
  (await server.db.query<{ n: number }>(`select count(distinct event_key)::int as n from odds where run_id = $1 and platform = $2`, [runId, platform]))[0]!.n;
const finishedEvents = async (runId: number) =>
  (await server.db.query<{ n: number }>(`select count(*)::int as n from run_events where run_id = $1 and type = 'run.finished'`, [runId]))[0]!.n;

describe('connection guard (default scrape pool: every platform in flight at once)', () => {
  it('ends an observed run connection_failed when the grace runs out after its only watcher left, stopping the platforms in flight (their odds kept)', async () => {
    const platforms = ['northwind', 'luckyowl', 'harborline'];
    for (const name of platforms) feeds().set(name, SLOW);
    const before = await scrape();
    const run = await observedRun(platforms);
    expect(run.trigger).toBe('api-stream');
    const watcher = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await allInFlight(watcher, platforms);
    const disconnectedAt = Date.now();
    watcher.close();

    const ended = await server.waitForRun(run.id, [...TERMINAL]);
    const elapsed = Date.parse(ended.finishedAt!) - disconnectedAt;
    expect(ended.status).toBe('connection_failed');
    expect(ended.failureReason).toBe('connection_lost');
    // At the grace, not when a platform ends: every platform would still have read for seconds.
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(elapsed).toBeLessThan(GRACE_MS + 1_000);
    // A page being written when the run ended lands a moment later, its odds and its count in one statement.
    const settled = await waitFor(async () => {
      const run = (await (await server.api(`/api/runs/${ended.id}`)).json()) as RunDetail;
      return run.steps.every((step) => step.eventsFound > 0) ? run : undefined;
    }, { what: 'the stopped steps to keep the count of what they read' });
    for (const step of settled.steps) {
      expect(step, step.platform).toMatchObject({ status: 'failed', error: 'stopped: the run lost its watchers' });
      expect(step.startedAt).not.toBeNull();
      expect(step.finishedAt).not.toBeNull();
      expect(await oddsOf(run.id, step.platform), `odds read by ${step.platform} before it was stopped`).toBeGreaterThan(0);
      expect(step.eventsFound, `${step.platform}: the step counts the sporting events whose odds were kept`).toBe(await eventsWithOdds(run.id, step.platform));
      expect(step.eventsFound).toBeGreaterThan(0);
      expect(feeds().requests(step.platform), `${step.platform} stopped reading`).toBeLessThan(SLOW.pages);
    }
    // In each bookmaker's history (trend charts) the stopped scrape reads as aborted, not as a feed failure.
    for (const name of platforms) {
      const history = (await (await server.api(`/api/platforms/${name}/history`)).json()) as PlatformHistory;
      expect(history.items.find((scrape) => scrape.runId === run.id), name).toMatchObject({ outcome: 'aborted', hasError: true });
    }
    // Exactly one terminal transition: one run.finished, no platform event after the run ended its steps.
    expect(await finishedEvents(run.id)).toBe(1);
    const platformEnds = await server.db.query(`select 1 from run_events where run_id = $1 and type in ('platform.completed', 'platform.failed')`, [run.id]);
    expect(platformEnds).toHaveLength(0);

    const warnings = server.logs.filter((line) => line.run_id === run.id && line.level === 'warn' && line.actor === 'connection_guard');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ trigger: 'api-stream', status: 'connection_failed', failure_reason: 'connection_lost', platforms_done: [], platforms_not_done: platforms });
    expect(warnings[0]!.unwatched_ms).toBeGreaterThanOrEqual(GRACE_MS);
    expect(server.logs.some((line) => line.run_id === run.id && /lost the race/.test(line.msg))).toBe(false);
    const after = await scrape();
    expect(after.value('oddswatch_connection_failed_total', { trigger: 'api-stream' }) - before.value('oddswatch_connection_failed_total', { trigger: 'api-stream' })).toBe(1);
    expect(after.value('oddswatch_runs_total', { trigger: 'api-stream', status: 'connection_failed' }) - before.value('oddswatch_runs_total', { trigger: 'api-stream', status: 'connection_failed' })).toBe(1);
    console.log(`[connectionLoss] last watcher left -> connection_failed: ${elapsed} ms (grace ${GRACE_MS} ms), 3 platforms stopped in flight`);
  });

  it('keeps what finished before the loss: a platform done counts as done, the ones in flight are stopped', async () => {
    feeds().set('luckyowl', SLOW);
    feeds().set('harborline', SLOW);
    const run = await observedRun(['northwind', 'luckyowl', 'harborline']);
    const watcher = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await watcher.waitForEvent((event) => event.data.type === 'platform.completed' && event.data.data.platform === 'northwind');
    await allInFlight(watcher, ['luckyowl', 'harborline']);
    watcher.close();

    const ended = await server.waitForRun(run.id, [...TERMINAL]);
    expect(ended.status).toBe('connection_failed');
    const steps = Object.fromEntries(ended.steps.map((step) => [step.platform, step]));
    expect(steps.northwind).toMatchObject({ status: 'completed', error: null });
    expect(steps.northwind!.eventsFound).toBeGreaterThan(0);
    expect(steps.luckyowl).toMatchObject({ status: 'failed', error: 'stopped: the run lost its watchers' });
    expect(steps.harborline).toMatchObject({ status: 'failed', error: 'stopped: the run lost its watchers' });
    const warning = server.logs.find((line) => line.run_id === run.id && line.level === 'warn' && line.actor === 'connection_guard')!;
    expect(warning).toMatchObject({ platforms_done: ['northwind'], platforms_not_done: ['luckyowl', 'harborline'] });
  });

  it('keeps a run alive when its watcher comes back within the grace period', async () => {
    for (const name of ['northwind', 'luckyowl', 'harborline']) feeds().set(name, { latencyMs: 100, pages: 15 }); // ~1.5 s: past the grace
    const run = await observedRun(['northwind', 'luckyowl', 'harborline']);
    const first = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await allInFlight(first, ['northwind', 'luckyowl', 'harborline']);
    const leftAt = Date.now();
    first.close();
    await waitFor(() => server.bus.watcherCount(run.id) === 0, { what: 'the service to see the watcher gone' });
    const second = await connectSse(`${server.url}/api/runs/${run.id}/events`, { lastEventId: first.events.at(-1)!.id });
    const awayMs = Date.now() - leftAt;
    await second.ended;
    expect(second.events.at(-1)!.data).toMatchObject({ type: 'run.finished', data: { status: 'completed' } });
    const ended = await server.waitForRun(run.id, ['completed']);
    expect(Date.parse(ended.finishedAt!) - leftAt, 'the run outlived the grace counted from the watcher leaving').toBeGreaterThan(GRACE_MS);
    // The service saw the run unwatched, then watched again within the grace: logged with the run id.
    // (The first watcher may attach before or after the runner starts tracking: a first "cancelled" line or none.)
    const changes = server.logs.filter((line) => line.run_id === run.id && /connection grace/.test(line.msg)).slice(-2);
    expect(changes.map((line) => line.msg)).toEqual([
      'observed run has no watcher on any replica: connection grace started',
      'observed run has a watcher: connection grace cancelled',
    ]);
    expect(changes[1]!.unwatched_ms).toBeLessThan(GRACE_MS);
    console.log(`[connectionLoss] watcher away ${awayMs} ms (grace ${GRACE_MS} ms): run completed ${Date.parse(ended.finishedAt!) - leftAt} ms after it left`);
  });

  it('completes a run whose platforms all finish before the grace runs out, though its watcher left', async () => {
    for (const name of ['northwind', 'luckyowl']) feeds().set(name, { latencyMs: 60, pages: 3 });
    const run = await observedRun(['northwind', 'luckyowl']);
    const watcher = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    await watcher.waitForEvent((event) => event.data.type === 'platform.progress');
    watcher.close();
    const ended = await server.waitForRun(run.id, [...TERMINAL]);
    expect(ended.status).toBe('completed');
  });

  it('fails an observed run that nobody ever watches once the grace period after its start is over, platforms in flight stopped', async () => {
    feeds().set('northwind', SLOW);
    feeds().set('redfox', SLOW);
    const run = await observedRun(['northwind', 'redfox']);
    const ended = await server.waitForRun(run.id, [...TERMINAL]);
    expect(ended.status).toBe('connection_failed');
    expect(Date.parse(ended.finishedAt!) - Date.parse(ended.startedAt!)).toBeLessThan(GRACE_MS + 1_000);
    for (const step of ended.steps) expect(step).toMatchObject({ status: 'failed', error: 'stopped: the run lost its watchers' });
  });

  it('never fails scheduled or plain api runs for lack of watchers', async () => {
    feeds().set('northwind', { latencyMs: 150, pages: 6 }); // ~0.9 s: past the grace
    const scheduled = await server.runs.start({ trigger: 'scheduled', platforms: ['northwind', 'redfox'] });
    expect((await server.waitForRun(scheduled.id, ['completed', 'connection_failed'])).status).toBe('completed');
    const api = (await (await post({ platforms: ['northwind', 'redfox'] })).json()) as RunDetail;
    const watcher = await connectSse(`${server.url}/api/runs/${api.id}/events`);
    await watcher.waitForEvents(2);
    watcher.close();
    expect((await server.waitForRun(api.id, ['completed', 'connection_failed'])).status).toBe('completed');
  });

  it('counts a dashboard on the global stream as a watcher', async () => {
    feeds().set('northwind', { latencyMs: 150, pages: 6 });
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
