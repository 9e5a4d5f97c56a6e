import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { applyMigrations } from './applyMigrations.js';
import { boundByDatabaseDeadlines } from './databaseDeadline.js';
import { DEFAULT_DATABASE_TIMEOUTS, ormConfig, ormLogging, type DatabaseTimeouts } from './ormConfig.js';

export type Orm = MikroORM;

/** Applies committed migrations (never schema sync; see applyMigrations.ts), then connects the service's ORM. */
export async function openDatabase(url: string, logger: Logger, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): Promise<Orm> {
  const applied = await applyMigrations(url, logger, timeouts);
  if (applied.length) logger.info({ migrations: applied }, 'database migrations applied');
  const orm = await MikroORM.init(ormConfig(url, ormLogging(logger), timeouts));
  boundByDatabaseDeadlines(orm);
  return orm;
}

/** True when every committed migration is applied (readiness). */
export async function migrationsApplied(orm: Orm): Promise<boolean> {
  const pending = await orm.getMigrator().getPendingMigrations();
  return pending.length === 0;
}
