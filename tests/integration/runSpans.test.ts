import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunDetail, RunStatus } from '../../src/shared/contract.js';
import type { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';
import { captureSpans } from '../helpers/spans.js';
import { insertHeldStepJob } from '../helpers/stepJobs.js';

/**
 * Whatever ends a run, its `scrape.run` span and each `scrape.platform` span are exported exactly once,
 * with the run's final status. Spans are captured in process by an in-memory exporter registered
 * before the service modules load.
 */
const { exporter, provider } = captureSpans();

let server: TestServer;
beforeAll(async () => {
  const { FAST_LIFECYCLE, startTestServer } = await import('../helpers/testServer.js');
  // Heartbeats every 2 s: a runner finishing a 300 ms scrape learns from no heartbeat that its run was ended.
  server = await startTestServer({ ...FAST_LIFECYCLE, HEARTBEAT_INTERVAL_MS: '2000', STALE_AFTER_MS: '5000', SHUTDOWN_GRACE_MS: '200' });
});
afterAll(async () => {
  await server?.close();
  await provider.shutdown();
});
beforeEach(() => {
  for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 20, pages: 2, failureRate: 0, hang: false });
});

const ERROR = 2;
const named = (traceId: string, name: string) => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId && span.name === name);

async function start(body: unknown): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: body });
  expect(response.status).toBe(202);
  return (await response.json()) as RunDetail;
}

/** Waits for the run's span, then checks every span of the run was exported once, with the final status. */
async function expectSpansOnce(run: RunDetail, status: RunStatus, message?: string): Promise<ReadableSpan> {
  const runSpan = await waitFor(() => named(run.traceId!, 'scrape.run')[0], { what: `the scrape.run span of run ${run.id}` });
  expect(named(run.traceId!, 'scrape.run')).toHaveLength(1);
  expect(runSpan.attributes).toMatchObject({ 'oddswatch.run.id': run.id, 'oddswatch.run.status': status });
  if (message) expect(runSpan.status).toMatchObject({ code: ERROR, message });
  else expect(runSpan.status.code).not.toBe(ERROR);
  const steps = await server.db.query<{ platform: string }>('select platform from platform_steps where run_id = $1 and started_at is not null', [run.id]);
  const started = steps.map((step) => step.platform);
  expect(started.length).toBeGreaterThan(0);
  // A step's span ends on the replica that ran it, once its scrape stopped: possibly a moment after the run's.
  const platformSpans = await waitFor(() => {
    const spans = named(run.traceId!, 'scrape.platform');
    return spans.length >= started.length ? spans : undefined;
  }, { what: `the scrape.platform spans of run ${run.id}` });
  expect(platformSpans.map((span) => span.attributes['oddswatch.platform']).sort()).toEqual([...started].sort());
  expect(platformSpans.every((span) => span.parentSpanContext?.spanId === runSpan.spanContext().spanId)).toBe(true);
  return runSpan;
}

describe('the scrape.run span, whoever ends the run', () => {
  it('the runner: completed', async () => {
    const run = await start({ platforms: ['northwind', 'redfox'] });
    await server.waitForRun(run.id, ['completed']);
    await expectSpansOnce(run, 'completed');
  });

  it('the watchdog: failed (stale)', async () => {
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const run = await start({ platforms: ['luckyowl'] });
    await server.waitForRun(run.id, ['running']);
    await waitFor(async () => (await server.runs.detectStale()) === 1, { timeoutMs: 10_000, intervalMs: 100 });
    const platform = await expectSpansOnce(run, 'failed', 'failed: stale').then(() => named(run.traceId!, 'scrape.platform')[0]!);
    expect(platform.attributes['oddswatch.platform.outcome']).toBe('aborted');
    expect(platform.status.code).toBe(ERROR);
  });

  it('the connection guard: connection_failed', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 150, pages: 4 });
    const run = await start({ platforms: ['northwind', 'redfox'], observe: true });
    await server.waitForRun(run.id, ['connection_failed']);
    await expectSpansOnce(run, 'connection_failed', 'connection_failed: connection_lost');
  });

  it('a lost compare-and-set: the runner tries to finish after another process did, and the span says so', async () => {
    server.platforms.simulated!.set('bluepeak', { latencyMs: 150 });
    const run = await start({ platforms: ['bluepeak'] });
    // Mid-scrape, so the runner goes on to finish its platform and then tries (and loses) to finish the run.
    await waitFor(
      async () => (await server.db.query('select 1 from platform_steps where run_id = $1 and started_at is not null', [run.id])).length > 0,
      { what: 'the platform to start' },
    );
    // Another replica's compare-and-set whose run.finished has not reached this replica yet (the bus would stop
    // the runner at once): the run alone, as that statement leaves it.
    await server.db.query(`update runs set status = 'failed', failure_reason = 'stale', finished_at = now() where id = $1 and status = 'running'`, [run.id]);
    const runSpan = await expectSpansOnce(run, 'failed', 'failed: stale');
    expect(runSpan.events.find((event) => event.name === 'run.finish_lost')?.attributes).toMatchObject({ actor: 'runner', wanted_status: 'completed' });
  });

  it('another process ended the run: the heartbeat stops the runner', async () => {
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const run = await start({ platforms: ['luckyowl'] });
    await server.waitForRun(run.id, ['running']);
    // Its step is a job: taken and started a moment after the run is running.
    await waitFor(async () => (await server.db.query('select 1 from platform_steps where run_id = $1 and started_at is not null', [run.id])).length > 0, { what: 'luckyowl started' });
    await server.db.query(`update runs set status = 'failed', failure_reason = 'interrupted', finished_at = now() where id = $1`, [run.id]);
    await expectSpansOnce(run, 'failed', 'failed: interrupted');
    expect(named(run.traceId!, 'scrape.platform')[0]!.attributes['oddswatch.platform.outcome']).toBe('aborted');
  });

  it("taken over from a dead replica: the rest of the run is a second scrape.run span in the run's trace; the dead replica's step is delivered again (attempt 2) under the span that handed it out, the others under the new one", async () => {
    const traceId = 'ab'.repeat(16);
    const [row] = await server.db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, owner_id, trace_id, started_at, heartbeat_at) values ('running', 'scheduled', '{northwind,redfox}', 'a-dead-replica', $1, now(), now()) returning id`,
      [traceId],
    );
    const runId = Number(row!.id);
    await server.db.query(
      `insert into platform_steps (run_id, platform, status, started_at, replica) values ($1, 'northwind', 'running', now(), 'a-dead-replica'), ($1, 'redfox', 'pending', null, null)`,
      [runId],
    );
    // The dead owner's span, northwind's parent as its job carries it; redfox was not handed out yet.
    const deadSpanId = 'cd'.repeat(8);
    await insertHeldStepJob((sql, params) => server.db.query(sql, params), runId, 'northwind', { traceparent: `00-${traceId}-${deadSpanId}-01` });
    expect(await server.runs.recover(true)).toBe(0); // taken over, not failed
    const ended = await server.waitForRun(runId, ['completed']);
    expect(ended.steps.map((step) => [step.platform, step.attempt])).toEqual([['northwind', 2], ['redfox', 1]]);
    const runSpan = await waitFor(() => named(traceId, 'scrape.run')[0], { what: 'the taken-over run\'s scrape.run span' });
    expect(named(traceId, 'scrape.run')).toHaveLength(1);
    expect(runSpan.attributes).toMatchObject({ 'oddswatch.run.id': runId, 'oddswatch.run.status': 'completed', 'oddswatch.run.taken_over': true, 'oddswatch.run.taken_over_from': 'a-dead-replica' });
    const platformSpans = named(traceId, 'scrape.platform');
    expect(platformSpans.map((span) => [span.attributes['oddswatch.platform'], span.attributes['oddswatch.step.attempt']]).sort()).toEqual([['northwind', 2], ['redfox', 1]]);
    const parentOf = (platform: string) => platformSpans.find((span) => span.attributes['oddswatch.platform'] === platform)!.parentSpanContext?.spanId;
    expect(parentOf('northwind')).toBe(deadSpanId);
    expect(parentOf('redfox')).toBe(runSpan.spanContext().spanId);
  });

  it('shutdown: failed (interrupted) after the grace', async () => {
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const run = await start({ platforms: ['luckyowl'] });
    await server.waitForRun(run.id, ['running']);
    // Its step is a job: stopped while it scrapes (a step not taken yet would simply never start).
    await waitFor(async () => (await server.db.query('select 1 from platform_steps where run_id = $1 and started_at is not null', [run.id])).length > 0, { what: 'luckyowl started' });
    await server.stop(); // resolves once every runner, and its span, is done
    expect(named(run.traceId!, 'scrape.run')).toHaveLength(1);
    await expectSpansOnce(run, 'failed', 'failed: interrupted');
  });
});
