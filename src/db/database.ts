import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { DEFAULT_DATABASE_TIMEOUTS, ormConfig, type DatabaseTimeouts } from './ormConfig.js';

export type Orm = MikroORM;

/** Connects, applies committed migrations (never schema sync) and returns the ORM. */
export async function openDatabase(url: string, logger: Logger, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): Promise<Orm> {
  const orm = await MikroORM.init(
    ormConfig(
      url,
      {
        logger: (message) => logger.debug({ component: 'mikro-orm' }, message),
      },
      timeouts,
    ),
  );
  const applied = await orm.getMigrator().up();
  if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, 'database migrations applied');
  return orm;
}

/** True when every committed migration is applied (readiness). */
export async function migrationsApplied(orm: Orm): Promise<boolean> {
  const pending = await orm.getMigrator().getPendingMigrations();
  return pending.length === 0;
}
