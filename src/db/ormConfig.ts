import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { fileURLToPath } from 'node:url';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The one MikroORM configuration: explicit entity list, committed migrations (an explicit list; `path`
 * is where `npm run migration:create` writes new ones), no schema sync.
 */
export function ormConfig(clientUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl,
    entities,
    extensions: [Migrator],
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: `${here}migrations`,
      pathTs: `${here}migrations`,
      glob: '!(*.d|index).{js,ts}',
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      // Only `npm run migration:create` writes the snapshot; the service never writes into its own files.
      snapshot: false,
      snapshotName: '.snapshot-oddswatch',
      emit: 'ts',
    },
    pool: { min: 0, max: 10 },
    forceUtcTimezone: true,
    debug: false,
    allowGlobalContext: false,
    ...overrides,
  });
}
