import type pg from 'pg';
import { insertEventAndNotify, type PublishedEventRow } from '../../src/events/eventPublisher.js';
import { pgExecutor } from '../../src/db/sqlExecutor.js';

/** `insertEventAndNotify` (default channel) in a transaction of its own on a client of `pool`. */
export async function publishEvent(pool: pg.Pool, runId: number | null, type: string, payload: unknown): Promise<PublishedEventRow> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    try {
      const row = await insertEventAndNotify(pgExecutor(client), runId, type, payload);
      await client.query('commit');
      return row;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }
}
