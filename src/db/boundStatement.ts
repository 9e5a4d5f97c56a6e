import type { Knex } from '@mikro-orm/postgresql';
import type pg from 'pg';
import type { Orm } from './database.js';
import { databaseTarget, startStatement, type DatabaseTarget } from './statementTelemetry.js';

const targets = new WeakMap<Orm, DatabaseTarget>();

/**
 * One statement on the ORM's pool with its parameters bound (`?` placeholders, sent as `$n` in
 * PostgreSQL's extended protocol), in autocommit.
 *
 * Why not `connection.execute`: MikroORM 6 formats every parameter into the SQL text as an escaped
 * literal before sending it. An odds batch then becomes a statement of tens of kilobytes that is
 * escaped on every write, copied whole into the span's `db.query.text` (with the odds in it, where the
 * semantic conventions ask for the parameterised text), and, with the pg instrumentation, flattened once
 * more to read the operation name (a third of the telemetry overhead of a run then). Bound, the text is
 * the statement's template, a few hundred bytes.
 *
 * Parameters carry no type: cast in SQL where the context does not give one (`?::bigint` in a select
 * list, `?::text[]` for sqlArray literals). Never pass a JavaScript array or undefined.
 * Each statement inside a span makes its own CLIENT span and duration record (statementTelemetry.ts).
 */
export async function boundStatement(orm: Orm, sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult> {
  let target = targets.get(orm);
  if (!target) targets.set(orm, (target = databaseTarget(orm.config.get('clientUrl')!)));
  const telemetry = startStatement(target, sql);
  try {
    return (await orm.em.getConnection().getKnex().raw(sql, params as readonly Knex.RawBinding[])) as pg.QueryResult;
  } catch (error) {
    telemetry.failed(error);
    throw error;
  } finally {
    telemetry.end();
  }
}

/** The rows of a bound statement. */
export async function boundRows<T>(orm: Orm, sql: string, params?: readonly unknown[]): Promise<T[]> {
  return (await boundStatement(orm, sql, params)).rows as T[];
}

/** The number of rows a bound statement inserted, updated or deleted. */
export async function boundRowCount(orm: Orm, sql: string, params?: readonly unknown[]): Promise<number> {
  return (await boundStatement(orm, sql, params)).rowCount ?? 0;
}
