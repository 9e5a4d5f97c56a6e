import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_RUN_STATUSES, type RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { freezeCluster } from '../helpers/pgFreeze.js';
import { connectSse } from '../helpers/sseClient.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwawayPostgres.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * The built service on a throwaway PostgreSQL that the test freezes (SIGSTOP), restarts mid-run and
 * stops for 30 s. Default database timeouts: nothing may hang longer than a few seconds, nothing
 * answers 500, /metrics keeps answering, and the service recovers without a restart of its own.
 */
const HANG_BOUND_MS = 8_000; // statement timeout 5 s + the client's 1 s margin + slack on 2 busy cores
const OUTAGE_MS = 30_000;
let pg: ThrowawayPostgres;
let service: ChildService;
let thaw: (() => void) | undefined;

beforeAll(async () => {
  pg = await startThrowawayPostgres();
  service = await spawnService({
    DATABASE_URL: pg.url,
    SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 300, pages: 6, eventsPerPage: 5 } }),
    SCRAPE_CONCURRENCY: '1',
    // The watchdog ends a run whose runner lost the database, within seconds here.
    HEARTBEAT_INTERVAL_MS: '500',
    STALE_AFTER_MS: '3000',
    WATCHDOG_INTERVAL_SECONDS: '1',
  });
}, 120_000);
afterAll(async () => {
  thaw?.();
  await service?.stop();
  await pg?.destroy();
});

/** One request, timed; the body parsed when it is JSON. */
async function timed(path: string, init: RequestInit = {}): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(`${service.url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
  const body = await response.text();
  return { status: response.status, ms: Math.round(performance.now() - started), body };
}
const startRun = () => timed('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['northwind', 'redfox'] }) });
const metricValue = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

function expectCleanUnavailable(answer: { status: number; body: string }, what: string): void {
  expect(answer.status, `${what}: ${answer.body}`).toBe(503);
  const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
  // A start may also find this replica without its liveness lock (lost with the database): a 503 of its own.
  const codes = what.startsWith('POST') ? ['database_unavailable', 'not_owning_runs'] : ['database_unavailable'];
  expect(codes, `${what}: ${answer.body}`).toContain(error.code);
  expect(Object.keys(error).sort(), what).toEqual(['code', 'message']);
}

async function waitForTerminal(id: number, timeoutMs: number): Promise<RunDetail> {
  return waitFor(
    async () => {
      const answer = await timed(`/api/runs/${id}`);
      if (answer.status !== 200) return undefined;
      const run = JSON.parse(answer.body) as RunDetail;
      return (TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status) ? run : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `run ${id} to end` },
  );
}

describe('database faults through the built service', () => {
  it('a frozen database: /readyz 503 within 2 s, API 503 database_unavailable within the statement timeout, /metrics answers with database_up 0', async () => {
    expect((await timed('/readyz')).status).toBe(200);
    expect(metricValue((await timed('/metrics')).body, 'oddswatch_database_up')).toBe(1);
    thaw = freezeCluster(`${pg.dir}/data`);
    const [readyz, metrics, list, create] = await Promise.all([timed('/readyz'), timed('/metrics'), timed('/api/runs'), startRun()]);
    thaw();
    thaw = undefined;
    expect(readyz.status).toBe(503);
    expect(readyz.ms).toBeLessThan(2_500);
    expect(metrics.status).toBe(200);
    expect(metrics.ms).toBeLessThan(3_000);
    expect(metricValue(metrics.body, 'oddswatch_database_up')).toBe(0);
    expectCleanUnavailable(list, 'GET /api/runs');
    expectCleanUnavailable(create, 'POST /api/runs');
    expect(list.ms).toBeLessThan(HANG_BOUND_MS);
    expect(create.ms).toBeLessThan(HANG_BOUND_MS);
    const thawed = performance.now();
    await waitFor(async () => (await timed('/readyz')).status === 200, { timeoutMs: 15_000, intervalMs: 200, what: '/readyz 200 after the thaw' });
    const recoveredMs = Math.round(performance.now() - thawed);
    expect(metricValue((await timed('/metrics')).body, 'oddswatch_database_up')).toBe(1);
    recordFault({
      name: 'database frozen (SIGSTOP)',
      endState: '/readyz 503, /metrics 200 with oddswatch_database_up 0, GET and POST /api/runs 503 database_unavailable; ready again after SIGCONT',
      figure: { readyz_ms: readyz.ms, metrics_ms: metrics.ms, get_runs_ms: list.ms, post_runs_ms: create.ms, ready_after_thaw_ms: recoveredMs },
    });
  });

  it('PostgreSQL restarted mid-run: the run ends in a terminal status, /readyz goes 503 and back, a new run completes', async () => {
    const created = await startRun();
    expect(created.status, created.body).toBe(202);
    const run = JSON.parse(created.body) as RunDetail;
    await waitFor(async () => JSON.parse((await timed(`/api/runs/${run.id}`)).body).status === 'running', { what: 'the run to be running' });
    const restartStarted = performance.now();
    await pg.stop('fast');
    const down = await timed('/readyz');
    expect(down.status).toBe(503);
    await pg.start();
    await waitFor(async () => (await timed('/readyz')).status === 200, { timeoutMs: 20_000, intervalMs: 200, what: '/readyz back to 200' });
    const readyMs = Math.round(performance.now() - restartStarted);
    const ended = await waitForTerminal(run.id, 30_000);
    const endedMs = Math.round(performance.now() - restartStarted);
    const next = await waitFor(async () => {
      const answer = await startRun();
      return answer.status === 202 ? (JSON.parse(answer.body) as RunDetail) : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500, what: 'a new run to start' });
    const nextEnded = await waitForTerminal(next.id, 30_000);
    expect(nextEnded.status).toBe('completed');
    expect(service.process.exitCode).toBeNull();
    recordFault({
      name: 'PostgreSQL restarted mid-run',
      endState: `run in flight ended ${ended.status}${ended.failureReason ? `/${ended.failureReason}` : ''}; /readyz 503 then 200; the next run completed with no service restart`,
      figure: { readyz_down_ms: down.ms, ready_again_after_ms: readyMs, run_terminal_after_ms: endedMs },
    });
  });

  it('PostgreSQL down for 30 s: every answer quick, 503 JSON never 500, /metrics up, a fresh stream opens live, SSE ends cleanly and resumes after', async () => {
    const live = await connectSse(`${service.url}/api/events`);
    expect(live.status).toBe(200);
    await pg.stop('fast');
    const stoppedAt = performance.now();
    // A fresh global stream (no Last-Event-ID) needs no query at all: it opens live during the outage and
    // stays open through it (checked after the restart, where it sees the next run finish).
    const fresh = await connectSse(`${service.url}/api/events`);
    expect(fresh.status).toBe(200);
    await waitFor(() => fresh.retry !== undefined || fresh.isEnded(), { timeoutMs: HANG_BOUND_MS, what: 'the fresh stream to start' });
    let slowest = 0;
    let requests = 0;
    const statuses = new Map<string, Set<number>>();
    const newStreams: { ended: boolean; ms: number }[] = [];
    while (performance.now() - stoppedAt < OUTAGE_MS) {
      const answers = await Promise.all([
        timed('/readyz').then((answer) => ['/readyz', answer] as const),
        timed('/metrics').then((answer) => ['/metrics', answer] as const),
        timed('/api/runs').then((answer) => ['GET /api/runs', answer] as const),
        startRun().then((answer) => ['POST /api/runs', answer] as const),
      ]);
      for (const [what, answer] of answers) {
        requests += 1;
        slowest = Math.max(slowest, answer.ms);
        if (!statuses.has(what)) statuses.set(what, new Set());
        statuses.get(what)!.add(answer.status);
        expect([200, 503], `${what}: ${answer.body}`).toContain(answer.status);
        expect(answer.body).not.toMatch(/\bat .+\.(js|ts):\d+/);
        if (what.endsWith('/api/runs')) expectCleanUnavailable(answer, what);
        if (what === '/metrics') expect(metricValue(answer.body, 'oddswatch_database_up')).toBe(0);
      }
      if (newStreams.length < 3) {
        const opened = performance.now();
        // A stream opened during the outage either replays (from memory when it can) and stays live, or
        // ends cleanly once its replay fails: never an error body, never a hang.
        const stream = await connectSse(`${service.url}/api/events?lastEventId=1`);
        expect(stream.status).toBe(200);
        await waitFor(() => stream.retry !== undefined || stream.isEnded(), { timeoutMs: HANG_BOUND_MS, what: 'the stream to start or end' });
        newStreams.push({ ended: stream.isEnded(), ms: Math.round(performance.now() - opened) });
        stream.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await pg.start();
    const restarted = performance.now();
    await waitFor(async () => (await timed('/readyz')).status === 200, { timeoutMs: 20_000, intervalMs: 200, what: '/readyz back to 200' });
    const readyMs = Math.round(performance.now() - restarted);
    expect(slowest).toBeLessThan(HANG_BOUND_MS);
    expect(newStreams).toHaveLength(3);
    // A client resumes: its cursor replays, and a new run's events arrive live.
    const lastId = live.events.at(-1)?.id ?? '0';
    live.close();
    const resumed = await connectSse(`${service.url}/api/events`, { lastEventId: lastId });
    expect(resumed.status).toBe(200);
    const next = await waitFor(async () => {
      const answer = await startRun();
      return answer.status === 202 ? (JSON.parse(answer.body) as RunDetail) : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500, what: 'a new run to start' });
    await resumed.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === next.id, 30_000);
    resumed.close();
    expect(fresh.isEnded()).toBe(false);
    await fresh.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === next.id, 30_000);
    fresh.close();
    expect(service.process.exitCode).toBeNull();
    const errors = service.logs.filter((line) => Number(line.level) >= 50 && ['unhandled error', 'SSE stream failed'].includes(String(line.msg)));
    expect(errors, JSON.stringify(errors.slice(0, 2))).toEqual([]);
    recordFault({
      name: 'PostgreSQL down for 30 s',
      endState: `API ${[...statuses].map(([what, set]) => `${what} ${[...set].join('/')}`).join(', ')}; SSE streams opened meanwhile ${newStreams.filter((stream) => stream.ended).length ? 'ended cleanly' : 'stayed live (replayed from memory)'}; a client resumed after and saw a new run finish; no restart`,
      figure: { outage_ms: OUTAGE_MS, requests, slowest_answer_ms: slowest, slowest_new_stream_ms: Math.max(...newStreams.map((stream) => stream.ms)), ready_after_restart_ms: readyMs },
    });
  });
});
