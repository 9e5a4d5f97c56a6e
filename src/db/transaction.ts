import type { Orm } from './database.js';
import type { SqlExecutor } from './sqlExecutor.js';

/**
 * `work` in one transaction on a pooled connection, its statements bound (`?` placeholders), after taking
 * the transaction-scoped advisory lock `lockName` (released at commit or rollback). Keep it short: every
 * other holder of the lock waits for it.
 */
export async function inLockedTransaction<T>(orm: Orm, lockName: string, work: (sql: SqlExecutor) => Promise<T>): Promise<T> {
  return orm.em.getConnection().getKnex().transaction(async (trx) => {
    const sql: SqlExecutor = async <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
      ((await trx.raw(text, params as never[])) as { rows: R[] }).rows;
    await sql('select pg_advisory_xact_lock(hashtextextended(?, 0))', [lockName]);
    return work(sql);
  });
}
