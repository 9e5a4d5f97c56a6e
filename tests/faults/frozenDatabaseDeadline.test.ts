import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_RUN_STATUSES, type RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { freezeCluster } from '../helpers/pgFreeze.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwawayPostgres.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * PostgreSQL frozen (every server process SIGSTOPped) for 20 s under many concurrent and staggered API
 * requests, with the pool warm (its connections then hang too). Default database timeouts: statement
 * 5 s, connect 3 s. Every request that touches the database must answer within one per-request
 * deadline (statement timeout + 1 s), however many waits for a connection or a statement it queues
 * behind, including requests sent late in the freeze: 503 database_unavailable (JSON, Retry-After, no
 * stack), or its normal answer once the database is back. Never a 500.
 */
const STATEMENT_TIMEOUT_MS = 5_000;
/** The documented bound: the request's database deadline (statement timeout + 1 s). */
const REQUEST_DEADLINE_MS = STATEMENT_TIMEOUT_MS + 1_000;
/** Timer and event-loop slack on 2 busy cores, on top of the deadline. */
const SLACK_MS = 750;
const FREEZE_MS = 20_000;
const BURST_PER_ROUTE = 5;
const STAGGER_EVERY_MS = 500;

let pg: ThrowawayPostgres;
let service: ChildService;
let thaw: (() => void) | undefined;
let finishedRunId: number;

interface Answer {
  what: string;
  sentAtMs: number;
  ms: number;
  status: number;
  body: string;
  retryAfter: string | null;
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function timed(what: string, path: string, init: RequestInit = {}, origin = performance.now()): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${service.url}${path}`, { ...init, signal: AbortSignal.timeout(60_000) });
    const body = await response.text();
    return { what, sentAtMs: Math.round(started - origin), ms: Math.round(performance.now() - started), status: response.status, body, retryAfter: response.headers.get('retry-after') };
  } catch (error) {
    return { what, sentAtMs: Math.round(started - origin), ms: Math.round(performance.now() - started), status: 0, body: String(error), retryAfter: null };
  }
}

beforeAll(async () => {
  pg = await startThrowawayPostgres();
  service = await spawnService({
    DATABASE_URL: pg.url,
    SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 20, pages: 2, eventsPerPage: 5 } }),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  });
  const created = await timed('POST /api/runs', '/api/runs', json({ platforms: ['northwind', 'redfox'] }));
  expect(created.status, created.body).toBe(202);
  finishedRunId = (JSON.parse(created.body) as RunDetail).id;
  await waitFor(async () => {
    const answer = await timed('GET /api/runs/:id', `/api/runs/${finishedRunId}`);
    return answer.status === 200 && (TERMINAL_RUN_STATUSES as readonly string[]).includes((JSON.parse(answer.body) as RunDetail).status);
  }, { timeoutMs: 30_000, intervalMs: 100, what: 'the first run to end' });
}, 120_000);
afterAll(async () => {
  thaw?.();
  await service?.stop();
  await pg?.destroy();
});

const ROUTES: { what: string; path: () => string; init?: () => RequestInit; database: boolean }[] = [
  { what: 'GET /api/runs', path: () => '/api/runs', database: true },
  { what: 'GET /api/runs/:id', path: () => `/api/runs/${finishedRunId}`, database: true },
  { what: 'GET /api/odds', path: () => '/api/odds', database: true },
  { what: 'POST /api/runs', path: () => '/api/runs', init: () => json({ platforms: ['northwind'] }), database: true },
  { what: 'GET /api/scheduler', path: () => '/api/scheduler', database: false },
  { what: 'GET /api/platforms', path: () => '/api/platforms', database: true },
];

describe('PostgreSQL frozen for 20 s under concurrent and staggered API requests', () => {
  it('every request answers within the per-request database deadline: 503 database_unavailable (JSON, Retry-After) or its answer, never 500', async () => {
    // A warm pool: every connection is open when the freeze begins, so requests meet hung connections, not only new ones.
    await Promise.all(Array.from({ length: 24 }, (_, index) => timed('warm-up', ROUTES[index % 3]!.path())));
    const runsBefore = Number(JSON.parse((await timed('count', '/api/runs?limit=100')).body).items.length);

    thaw = freezeCluster(`${pg.dir}/data`);
    const frozenAt = performance.now();
    const pending: Promise<Answer>[] = [];
    const send = (route: (typeof ROUTES)[number]) => pending.push(timed(route.what, route.path(), route.init?.(), frozenAt));
    for (let index = 0; index < BURST_PER_ROUTE; index++) for (const route of ROUTES) send(route);
    // Staggered: one request per route every half second until the end of the freeze (the last ones are
    // sent with well under a deadline of freeze left, and are answered after the thaw).
    for (let at = STAGGER_EVERY_MS; at < FREEZE_MS; at += STAGGER_EVERY_MS) {
      await waitFor(() => performance.now() - frozenAt >= at, { timeoutMs: FREEZE_MS, intervalMs: 10, what: `${at} ms into the freeze` });
      for (const route of ROUTES) send(route);
    }
    await waitFor(() => performance.now() - frozenAt >= FREEZE_MS, { timeoutMs: FREEZE_MS, intervalMs: 10, what: 'the end of the freeze' });
    thaw();
    thaw = undefined;
    const thawedAt = performance.now();
    // Ready again: a probe every 100 ms (not one after another: a probe sent just before the thaw may wait out its 1.5 s).
    let readyAt: number | undefined;
    const probes: Promise<void>[] = [];
    await waitFor(() => {
      probes.push(timed('readyz', '/readyz').then((answer) => void (answer.status === 200 && (readyAt ??= performance.now()))));
      return readyAt !== undefined;
    }, { timeoutMs: 20_000, intervalMs: 100, what: '/readyz 200 after the thaw' });
    const readyAfterThawMs = Math.round(readyAt! - thawedAt);
    const answers = await Promise.all(pending);
    await Promise.all(probes);

    const byRoute = new Map<string, Answer[]>();
    for (const answer of answers) byRoute.set(answer.what, [...(byRoute.get(answer.what) ?? []), answer]);
    const summary = [...byRoute].map(([what, list]) => {
      const statuses = [...new Set(list.map((answer) => answer.status))].sort().join('/');
      return `${what}: n=${list.length} max ${Math.max(...list.map((answer) => answer.ms))} ms, statuses ${statuses}`;
    });
    const slowest = [...answers].sort((a, b) => b.ms - a.ms).slice(0, 8).map((answer) => `${answer.what} sent +${answer.sentAtMs} ms took ${answer.ms} ms -> ${answer.status}`);
    console.log(`frozen ${FREEZE_MS} ms, ${answers.length} requests, ready ${readyAfterThawMs} ms after the thaw\n${summary.join('\n')}\nslowest:\n${slowest.join('\n')}`);
    const unavailableLogs = service.logs.filter((line) => line.msg === 'database unavailable');
    const causes = new Map<string, number>();
    for (const line of unavailableLogs) {
      const message = String((line.err as { message?: string } | undefined)?.message ?? '').split(' - ').at(-1)!.replace(/\d+/g, 'N').slice(0, 80);
      causes.set(message, (causes.get(message) ?? 0) + 1);
    }
    console.log(`database unavailable causes: ${JSON.stringify([...causes])}`);
    const buckets = new Map<number, number>();
    for (const answer of answers) buckets.set(Math.floor(answer.ms / 1_000), (buckets.get(Math.floor(answer.ms / 1_000)) ?? 0) + 1);
    console.log(`answers by whole seconds: ${JSON.stringify([...buckets].sort(([a], [b]) => a - b))}`);

    for (const answer of answers) {
      const what = `${answer.what} sent +${answer.sentAtMs} ms -> ${answer.status} after ${answer.ms} ms: ${answer.body.slice(0, 200)}`;
      expect(answer.ms, what).toBeLessThanOrEqual(REQUEST_DEADLINE_MS + SLACK_MS);
      expect([200, 202, 409, 503], what).toContain(answer.status);
      expect(answer.body, what).not.toMatch(/\bat .+\.(js|ts):\d+/);
      if (answer.status === 503) {
        const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
        expect(answer.what === 'POST /api/runs' ? ['database_unavailable', 'not_owning_runs'] : ['database_unavailable'], what).toContain(error.code);
        expect(Object.keys(error).sort(), what).toEqual(['code', 'message']);
        expect(String(answer.retryAfter), what).toMatch(/^\d+$/);
      }
    }
    // The freeze was real: the routes that read the database answered 503 during it; the scheduler (memory) never did.
    for (const route of ROUTES.filter((candidate) => candidate.database)) {
      expect(byRoute.get(route.what)!.some((answer) => answer.status === 503), route.what).toBe(true);
    }
    expect(byRoute.get('GET /api/scheduler')!.every((answer) => answer.status === 200)).toBe(true);
    expect(service.process.exitCode).toBeNull();
    const unhandled = service.logs.filter((line) => line.msg === 'unhandled error');
    expect(unhandled, JSON.stringify(unhandled.slice(0, 2))).toEqual([]);

    // Runs that exist afterwards beyond those a 202 announced: starts answered 503 whose insert still ran after the thaw.
    const accepted = answers.filter((answer) => answer.what === 'POST /api/runs' && answer.status === 202).length;
    const runsAfter = Number(JSON.parse((await timed('count', '/api/runs?limit=100')).body).items.length);
    const late = answers.filter((answer) => answer.sentAtMs >= FREEZE_MS - REQUEST_DEADLINE_MS);
    const maxOf = (list: Answer[]) => Math.max(0, ...list.map((answer) => answer.ms));
    const database = answers.filter((answer) => answer.what !== 'GET /api/scheduler');
    recordFault({
      name: 'database frozen 20 s under concurrent requests',
      endState: `${answers.length} requests (${BURST_PER_ROUTE} per route at once, then one per route every ${STAGGER_EVERY_MS} ms): ${summary.join('; ')}; no 500; ${runsAfter - runsBefore - accepted} run(s) created beyond the ${accepted} starts answered 202`,
      figure: {
        freeze_ms: FREEZE_MS,
        requests: answers.length,
        request_deadline_ms: REQUEST_DEADLINE_MS,
        slowest_database_request_ms: maxOf(database),
        slowest_sent_in_last_deadline_ms: maxOf(late),
        slowest_scheduler_ms: maxOf(byRoute.get('GET /api/scheduler')!),
        answered_503: answers.filter((answer) => answer.status === 503).length,
        ready_after_thaw_ms: readyAfterThawMs,
      },
    });
  });
});
