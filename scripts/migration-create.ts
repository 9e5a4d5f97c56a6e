/**
 * Generates a migration from the difference between the entities and the committed snapshot.
 * Usage: DATABASE_URL=postgres://... npm run migration:create [-- --initial]
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from '../src/db/ormConfig.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const base = ormConfig(url);
const orm = await MikroORM.init({ ...base, migrations: { ...base.migrations, snapshot: true } });
try {
  const result = await orm.getMigrator().createMigration(undefined, false, process.argv.includes('--initial'));
  console.log(result.fileName ? `created ${result.fileName}` : 'no changes');
  if (result.diff.up.length) console.log(result.diff.up.join('\n'));
} finally {
  await orm.close(true);
}
