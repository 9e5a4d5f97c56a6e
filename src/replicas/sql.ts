import type pg from 'pg';
import type { SqlExecutor } from '../db/sqlExecutor.js';

export type { SqlExecutor };

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
  owner: (ownerId: string) => `oddswatch-owner:${ownerId}`,
} as const;
