import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';

/** Bounds on every database call (DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_CONNECT_TIMEOUT_MS). */
export interface DatabaseTimeouts {
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { statementTimeoutMs: 5_000, connectTimeoutMs: 3_000 };
/** The server's own statement_timeout answers first when it can (a clear 57014); the client's read timeout is the backstop. */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;

/**
 * The longest an API request may wait for the database in all (databaseDeadline.ts): one statement's
 * client read timeout (statement timeout + 1 s), however many waits the request queues behind.
 */
export const requestDatabaseDeadlineMs = (statementTimeoutMs: number) => statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS;

/**
 * A pooled connection whose last statement never answered (its client read timeout or a request's
 * deadline gave up on it) still has that statement in flight, and pg would queue the next one behind it:
 * the pool destroys it instead of handing it out, and opens a new one.
 */
const answeredLastStatement = (connection: { readyForQuery?: boolean }) => connection.readyForQuery === true;

/** MikroORM's own log lines, at debug on the service's logger. */
export const ormLogging = (logger: Logger): Partial<Options> => ({ logger: (message) => logger.debug({ component: 'mikro-orm' }, message) });

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The one MikroORM configuration: explicit entity list, committed migrations (an explicit list; `path`
 * is where `npm run migration:create` writes new ones), no schema sync.
 */
export function ormConfig(clientUrl: string, overrides: Partial<Options> = {}, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): Options {
  return defineConfig({
    clientUrl,
    entities,
    extensions: [Migrator],
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: `${here}migrations`,
      pathTs: `${here}migrations`,
      glob: '!(*.d|index).{js,ts}',
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      // Only `npm run migration:create` writes the snapshot; the service never writes into its own files.
      snapshot: false,
      snapshotName: '.snapshot-oddswatch',
      emit: 'ts',
    },
    // Waiting for a pooled connection is bounded too: with every connection stuck, a request fails fast.
    pool: { min: 0, max: 10, acquireTimeoutMillis: timeouts.connectTimeoutMs + timeouts.statementTimeoutMs },
    driverOptions: {
      acquireConnectionTimeout: timeouts.connectTimeoutMs + timeouts.statementTimeoutMs,
      // Merged into `pool` by MikroORM (its PoolConfig type has no validate).
      pool: { validate: answeredLastStatement },
      connection: {
        connectionTimeoutMillis: timeouts.connectTimeoutMs,
        // The server cancels a statement that runs too long (slow query, lock wait)...
        statement_timeout: timeouts.statementTimeoutMs,
        // ...and the client gives up on one whose answer never comes (a frozen or unreachable server).
        query_timeout: timeouts.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      },
    },
    forceUtcTimezone: true,
    debug: false,
    allowGlobalContext: false,
    ...overrides,
  });
}
