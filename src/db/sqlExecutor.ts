import type pg from 'pg';

/**
 * The one thing the replica and event modules need from a database handle: run a statement, get its rows.
 * Placeholders are `?`, so the service passes `(sql, params) => boundRows(orm, sql, params)`
 * (boundStatement.ts); `pgExecutor` adapts a node-postgres client or pool.
 */
export type SqlExecutor = <T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** `?` placeholders to `$n` (the SQL of these modules never uses the jsonb `?` operator). */
export function toNumberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export function pgExecutor(client: pg.Client | pg.Pool | pg.PoolClient): SqlExecutor {
  return async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => {
    const result = await client.query<T>(toNumberedPlaceholders(sql), params);
    return result.rows;
  };
}

/** Advisory lock keys of oddswatch, by name: one place so two features never share a key by accident. */
export const LOCK_NAMES = {
  events: 'oddswatch-events',
  leader: 'oddswatch-leader',
  /** Matching listings to sporting events: one matcher at a time, so two never create the same sporting event. */
  matching: 'oddswatch-matching',
  owner: (ownerId: string) => `oddswatch-owner:${ownerId}`,
} as const;
