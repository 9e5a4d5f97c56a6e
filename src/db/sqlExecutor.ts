/**
 * The one thing a statement needs from a database handle: run it, get its rows. Placeholders are `?`, so
 * the service passes `(sql, params) => boundRows(orm, sql, params)` (boundStatement.ts);
 * replicas/sql.ts `pgExecutor` adapts a node-postgres client or pool.
 */
export type SqlExecutor = <T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;
