import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  url: string;
  name: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * A pool on a test database whose sessions may be ended under it at teardown: `pool.end()` resolves before its
 * sessions have closed, and `drop database ... with (force)` ends those still closing (57P01). That is expected,
 * not a test failure, so an error on an idle or closing session is swallowed.
 */
export function teardownTolerantPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** A database of its own for one test file, on the run's PostgreSQL server (see tests/globalSetup.ts). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = new URL(inject('postgresUrl'));
  const name = `oddswatch_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl.toString() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = teardownTolerantPool(url.toString(), 3);
  return {
    url: url.toString(),
    name,
    async query(sql, params) {
      const result = await pool.query(sql, params as unknown[]);
      return result.rows;
    },
    async drop() {
      await pool.end();
      const cleanup = new pg.Client({ connectionString: serverUrl.toString() });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
