import { MikroORM } from '@mikro-orm/postgresql';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundRows } from '../../src/db/boundStatement.js';
import { boundByDatabaseDeadlines, DatabaseDeadlineError, startDatabaseDeadline, withDatabaseDeadline } from '../../src/db/databaseDeadline.js';
import { ormConfig } from '../../src/db/ormConfig.js';
import { isDatabaseUnavailable } from '../../src/db/pgErrors.js';
import type { AppEnv } from '../../src/http/appEnv.js';
import { databaseDeadline } from '../../src/http/databaseDeadline.js';
import { onError } from '../../src/http/errors.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { connectSse } from '../helpers/sseClient.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Database deadlines (src/db/databaseDeadline.ts) on a real pool: pg_sleep stands in for a database that
 * does not answer. The frozen-cluster scenario through the built service is tests/faults/frozenDatabaseDeadline.test.ts.
 */
let db: TestDatabase;
let orm: MikroORM;
/** One connection only: a sleeping statement makes every other wait queue for it. */
let single: MikroORM;
const quiet = { logger: () => undefined };
const pendingAcquires = (target: MikroORM) => (target.em.getConnection().getKnex().client as unknown as { pool: { numPendingAcquires(): number } }).pool.numPendingAcquires();
const backendPid = async (target: MikroORM) => Number((await boundRows<{ pid: number }>(target, 'select pg_backend_pid() as pid'))[0]!.pid);

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await MikroORM.init(ormConfig(db.url, quiet));
  boundByDatabaseDeadlines(orm);
  single = await MikroORM.init(ormConfig(db.url, { ...quiet, pool: { min: 0, max: 1 } }));
  boundByDatabaseDeadlines(single);
});
afterAll(async () => {
  await orm?.close(true);
  await single?.close(true);
  await db?.drop();
});

async function timedFailure(work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await work().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  return { error, ms: performance.now() - started };
}

describe('database deadlines', () => {
  it('a statement unanswered at the deadline fails then as database-unavailable, and its connection is replaced, not queued behind it', async () => {
    const pid = await backendPid(single);
    const { error, ms } = await timedFailure(() => withDatabaseDeadline(300, () => boundRows(single, 'select pg_sleep(3)')));
    expect(error).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(error), String(error)).toBe(true);
    expect((error as Error).message).toContain('did not answer within the 300 ms deadline');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1_000);
    // The sleeping statement still holds that session: the next statement gets a new connection at once.
    const started = performance.now();
    expect(await backendPid(single)).not.toBe(pid);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a wait for a pooled connection still queued at the deadline ends then and leaves the pool queue', async () => {
    const sleeper = boundRows(single, 'select pg_sleep(1.5)');
    await waitFor(async () => Number((await db.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(1.5)' and state = 'active'`))[0]!.n) === 1, { what: 'the sleeper to run' });
    const { error, ms } = await timedFailure(() => withDatabaseDeadline(200, () => boundRows(single, 'select 1')));
    expect(error).toBeInstanceOf(DatabaseDeadlineError);
    expect(ms).toBeLessThan(800);
    expect(pendingAcquires(single)).toBe(0);
    await sleeper;
    expect(await boundRows(single, 'select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('cuts only waits pending at the deadline: not those begun after it, nor what the work left running once it ended', async () => {
    const deadline = startDatabaseDeadline(100);
    const late = await deadline.run(async () => {
      await waitFor(() => deadline.signal.aborted, { what: 'the deadline to pass' });
      return boundRows<{ one: number }>(orm, 'select 1 as one from pg_sleep(0.2)');
    });
    deadline.end();
    expect(late).toEqual([{ one: 1 }]);

    const answered = startDatabaseDeadline(200);
    // Background work started by a request that then answered in time (a run's runner): never cut.
    const background = answered.run(() => boundRows<{ one: number }>(orm, 'select 1 as one from pg_sleep(0.5)'));
    answered.end();
    expect(await background).toEqual([{ one: 1 }]);
    expect(answered.signal.aborted).toBe(false);
  });
});

describe('the request deadline middleware', () => {
  const app = new Hono<AppEnv>();
  app.onError(onError(createLogger('silent')));
  app.use(databaseDeadline(300));
  // A handler that, its wait cut, cleans up with statements begun after the deadline (not cut) before it answers.
  app.get('/api/slow-cleanup', async (c) => {
    try {
      await boundRows(orm, 'select pg_sleep(3)');
    } catch {
      await boundRows(orm, 'select pg_sleep(2.5)');
    }
    return c.json({ answered: 'late' });
  });
  app.get('/api/runs/:id/events', async (c) => {
    await boundRows(orm, 'select pg_sleep(0.6)'); // begun in time, answered after the deadline: cut
    return c.body(null, 204);
  });
  // A handler slower than the deadline for reasons of its own (not a database wait): left to answer.
  app.get('/api/events', async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 600));
    return c.json({ opened: 1 });
  });

  it('answers 503 database_unavailable with Retry-After by the deadline plus its grace when the handler does not', async () => {
    const started = performance.now();
    const response = await app.request('/api/slow-cleanup');
    const ms = performance.now() - started;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await response.json()).toEqual({ error: { code: 'database_unavailable', message: expect.any(String) } });
    expect(ms).toBeGreaterThanOrEqual(390);
    // 400 ms on an idle machine; a loaded CI machine once took 1.1 s. The handler would answer after 2.8 s.
    expect(ms).toBeLessThan(2_000);
  });

  it('on SSE paths cuts the database waits but never answers for the handler', async () => {
    const cut = await app.request('/api/runs/1/events');
    expect(cut.status).toBe(503);
    // Nothing to cut: the handler answers, after the deadline.
    const started = performance.now();
    const stream = await app.request('/api/events');
    expect(stream.status).toBe(200);
    expect(await stream.json()).toEqual({ opened: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
  });
});

describe('request deadlines in the service', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Deadline 1.2 s (statement timeout 200 ms + 1 s): the run and its streams outlast it.
    server = await startTestServer({ DATABASE_STATEMENT_TIMEOUT_MS: '200' });
  });
  afterAll(async () => server?.close());

  it('SSE streams live past the request deadline are never cut, and the run a request started completes', async () => {
    for (const name of server.platforms.names) server.platforms.simulated!.set(name, { latencyMs: 200, pages: 10, eventsPerPage: 2 });
    const global = await connectSse(`${server.url}/api/events`);
    const response = await server.api('/api/runs', { method: 'POST', json: {} });
    expect(response.status).toBe(202);
    const run = (await response.json()) as RunDetail;
    const started = performance.now();
    const stream = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    expect(stream.status).toBe(200);
    await stream.waitForEvent((event) => event.data.type === 'run.finished', 20_000);
    await global.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 20_000);
    expect(performance.now() - started).toBeGreaterThan(1_200);
    expect(global.isEnded()).toBe(false);
    global.close();
    stream.close();
    expect((await server.waitForRun(run.id, ['completed'])).status).toBe('completed');
    expect(server.logs.filter((line) => line.msg === 'database unavailable' || line.msg === 'SSE stream failed')).toEqual([]);
  });
});
