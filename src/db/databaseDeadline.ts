import { AsyncLocalStorage } from 'node:async_hooks';
import type { Orm } from './database.js';

/**
 * A deadline on all the database waits of one piece of work (an API request, the readiness probe),
 * however many it queues behind: a wait for a pooled connection (and the new connection it may open)
 * or for a statement's answer that is still pending when the deadline passes rejects then with a
 * DatabaseDeadlineError (pgErrors.ts: the database is unavailable, the API answers 503).
 *
 * Without it each wait has its own bound (pool acquire: connect + statement timeout; a statement: its
 * client read timeout), and they add up: with PostgreSQL frozen, a request first queued for a pooled
 * connection (up to 8 s with the default timeouts), then waited out the statement timeout plus margin
 * (6 s) on a connection whose previous statement never answered: 14 s.
 *
 * Only waits begun before the deadline passes are cut: work that goes on after it (the cleanup of a
 * failed start, a run's runner started by the request) and everything after the work settled (an SSE
 * stream's replay, once the stream is live) keeps the ordinary timeouts. Statements inside a transaction
 * are not cut (their client is a copy without the hook): cutting one would leave the transaction open on
 * a pooled connection. The service uses none outside migrations.
 */
export class DatabaseDeadlineError extends Error {
  override name = 'DatabaseDeadlineError';
  constructor(readonly deadlineMs: number) {
    super(`the database did not answer within the ${deadlineMs} ms deadline`);
  }
}

interface ActiveDeadline {
  signal: AbortSignal;
  error: DatabaseDeadlineError;
}

const active = new AsyncLocalStorage<ActiveDeadline>();

export interface DatabaseDeadline {
  /** Runs `work` under the deadline (its async continuations included). */
  run<T>(work: () => T): T;
  /** Aborts when the deadline passes (never after `end`). */
  signal: AbortSignal;
  error: DatabaseDeadlineError;
  /** The work is done: later waits of what it started are not cut. */
  end(): void;
}

/** Starts a deadline `ms` from now; call `end()` once the work settled. */
export function startDatabaseDeadline(ms: number): DatabaseDeadline {
  const controller = new AbortController();
  const deadline: ActiveDeadline = { signal: controller.signal, error: new DatabaseDeadlineError(ms) };
  const timer = setTimeout(() => controller.abort(deadline.error), ms);
  timer.unref();
  return {
    run: (work) => active.run(deadline, work),
    signal: controller.signal,
    error: deadline.error,
    end: () => clearTimeout(timer),
  };
}

/** Runs `work` with its database waits cut `ms` from now; settles as `work` does. */
export async function withDatabaseDeadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const deadline = startDatabaseDeadline(ms);
  try {
    return await deadline.run(work);
  } finally {
    deadline.end();
  }
}

/** The deadline a wait starting now must end by, if one is running and has not passed yet. */
function pendingDeadline(): ActiveDeadline | undefined {
  const deadline = active.getStore();
  return deadline && !deadline.signal.aborted ? deadline : undefined;
}

/** Settles as `wait`, or rejects with the deadline's error when it passes first. */
function untilDeadline<T>(deadline: ActiveDeadline, wait: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cut = () => reject(deadline.error);
    deadline.signal.addEventListener('abort', cut, { once: true });
    const settled = () => deadline.signal.removeEventListener('abort', cut);
    wait.then(
      (value) => {
        settled();
        resolve(value);
      },
      (error: unknown) => {
        settled();
        reject(error);
      },
    );
  });
}

/** The parts of knex's client and tarn's pool the hooks use (knex 3, tarn 3). */
interface PendingAcquire {
  promise: Promise<unknown>;
  reject(error: Error): void;
}
interface KnexClientInternals {
  pool?: { acquire(): PendingAcquire };
  _query(connection: unknown, query: unknown): Promise<unknown>;
}

const hooked = new WeakSet<object>();

/**
 * Makes the ORM's knex client honour deadlines: a pending pool acquire is taken out of the pool's queue
 * at the deadline (so requests that gave up do not hold later ones back), and a statement's wait for
 * its answer ends there (the connection, its statement unanswered, is then replaced on its next use:
 * ormConfig.ts's pool validate). Instance-level wrappers of knex's `pool.acquire` and `_query`,
 * installed once after MikroORM.init (the service never reconnects its ORM).
 */
export function boundByDatabaseDeadlines(orm: Orm): void {
  const client = orm.em.getConnection().getKnex().client as unknown as KnexClientInternals;
  const pool = client.pool;
  if (!pool || typeof pool.acquire !== 'function' || typeof client._query !== 'function') {
    throw new Error('knex internals changed: database deadlines need client.pool.acquire and client._query (see src/db/databaseDeadline.ts)');
  }
  if (hooked.has(client)) return;
  hooked.add(client);

  const acquire = pool.acquire.bind(pool);
  pool.acquire = () => {
    const pending = acquire();
    const deadline = pendingDeadline();
    if (deadline) {
      const cut = () => pending.reject(deadline.error);
      deadline.signal.addEventListener('abort', cut, { once: true });
      const settled = () => deadline.signal.removeEventListener('abort', cut);
      pending.promise.then(settled, settled);
    }
    return pending;
  };

  const query = client._query.bind(client);
  client._query = (connection, statement) => {
    const answer = query(connection, statement);
    const deadline = pendingDeadline();
    if (!deadline) return answer;
    // Cut: knex releases the connection; its late answer (if any) is dropped.
    answer.catch(() => undefined);
    return untilDeadline(deadline, answer);
  };
}
