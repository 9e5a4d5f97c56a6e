import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { ormConfig } from './ormConfig.js';

export type Orm = MikroORM;

/** Connects, applies committed migrations (never schema sync) and returns the ORM. */
export async function openDatabase(url: string, logger: Logger): Promise<Orm> {
  const orm = await MikroORM.init(
    ormConfig(url, {
      logger: (message) => logger.debug({ component: 'mikro-orm' }, message),
    }),
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
