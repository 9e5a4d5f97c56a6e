import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { openDatabase, type Orm } from '../db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embeddedPostgres.js';
import type { CleanupStack } from './cleanupStack.js';

export interface ServiceDatabase {
  url: string;
  orm: Orm;
  /** Started here because DATABASE_URL is unset. */
  embedded: EmbeddedDatabase | undefined;
}

/** The service's database (embedded when DATABASE_URL is unset), migrated, with its pool. */
export async function connectDatabase(config: Config, logger: Logger, cleanups: CleanupStack): Promise<ServiceDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres(config.embeddedPgDir, logger);
    cleanups.push(() => embedded!.stop());
  }
  const url = config.databaseUrl ?? embedded!.url;
  const orm = await openDatabase(url, logger, { statementTimeoutMs: config.databaseStatementTimeoutMs, connectTimeoutMs: config.databaseConnectTimeoutMs });
  cleanups.push(() => orm.close(true));
  return { url, orm, embedded };
}
