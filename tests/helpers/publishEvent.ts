import type pg from 'pg';
import { EVENTS_CHANNEL, insertEventAndNotify, type PublishedEventRow } from '../../src/events/eventPublisher.js';
import { pgExecutor } from '../../src/db/sqlExecutor.js';

/** `insertEventAndNotify` in a transaction of its own on a node-postgres client or pool. */
export async function publishEvent(
  db: pg.Pool | pg.Client,
  runId: number | null,
  type: string,
  payload: unknown,
  channel = EVENTS_CHANNEL,
): Promise<PublishedEventRow> {
  const client = 'totalCount' in db ? await db.connect() : db;
  try {
    await client.query('begin');
    try {
      const row = await insertEventAndNotify(pgExecutor(client), runId, type, payload, channel);
      await client.query('commit');
      return row;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  } finally {
    if (client !== db) (client as pg.PoolClient).release();
  }
}
