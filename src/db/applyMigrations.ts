import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { closeClient, connectDedicated } from './dedicatedClient.js';
import { ormConfig, ormLogging, type DatabaseTimeouts } from './ormConfig.js';

/** Longest one migration statement may run: a migration may rebuild a table of every stored price. */
export const MIGRATION_STATEMENT_TIMEOUT_MS = 30 * 60_000;
const MIGRATIONS_LOCK = 'oddswatch-migrations';

/**
 * Applies the committed migrations, once across replicas: under the session advisory lock
 * `oddswatch-migrations` on a connection of its own, so a replica starting beside another waits for it
 * and then finds nothing left to apply (without it, both ran the first migration and one failed on a
 * table the other had just created). The migrations run through an ORM of their own whose statements are
 * bound by MIGRATION_STATEMENT_TIMEOUT_MS instead of the service's statement timeout (5 s by default),
 * which a key or index rebuilt over a large odds table exceeds. Returns the names of those it applied.
 */
export async function applyMigrations(url: string, logger: Logger, timeouts: DatabaseTimeouts): Promise<string[]> {
  const client = await connectDedicated({ databaseUrl: url, applicationName: 'oddswatch-migrations', connectTimeoutMs: timeouts.connectTimeoutMs }, () => undefined);
  try {
    const { rows } = await client.query<{ got: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [MIGRATIONS_LOCK]);
    if (!rows[0]?.got) {
      logger.info({ lock: MIGRATIONS_LOCK }, 'waiting for another replica to apply the database migrations');
      await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [MIGRATIONS_LOCK]);
    }
    const orm = await MikroORM.init(
      ormConfig(url, ormLogging(logger), { ...timeouts, statementTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS }),
    );
    try {
      return (await orm.getMigrator().up()).map((migration) => migration.name);
    } finally {
      await orm.close(true);
    }
  } finally {
    await closeClient(client); // ending the session releases the lock
  }
}
