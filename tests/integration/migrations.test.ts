import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ormConfig } from '../../src/db/ormConfig.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

let db: TestDatabase;
let orm: MikroORM;
beforeAll(async () => {
  db = await createTestDatabase();
  orm = await MikroORM.init(ormConfig(db.url));
  await orm.getMigrator().up();
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

describe('migrations', () => {
  it('match the entities exactly: no schema change is pending', async () => {
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);
    expect(await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).toBe('');
  });

  it('are all applied and recorded', async () => {
    expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
    expect((await orm.getMigrator().getExecutedMigrations()).length).toBeGreaterThan(0);
  });
});

describe('the odds natural primary key (Migration20261126040000)', () => {
  let upgraded: TestDatabase;
  let upgradedOrm: MikroORM;
  afterAll(async () => {
    await upgradedOrm?.close(true);
    await upgraded?.drop();
  });

  it('upgrades a table that holds prices without losing one, and goes back down to the surrogate key', async () => {
    upgraded = await createTestDatabase();
    upgradedOrm = await MikroORM.init(ormConfig(upgraded.url));
    const migrator = upgradedOrm.getMigrator();
    await migrator.up({ to: 'Migration20261126030000_odds_fillfactor' });
    await upgraded.query(
      `insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id, previous_price)
       select 'p' || (n % 3), 'ev-' || (n / 15), 'A v B', 'match_result', 's' || (n % 5), 1.5 + n / 1000.0, now(), 1, null
       from generate_series(0, 299) as n`,
    );
    const prices = `select count(*)::int as n, md5(string_agg(concat_ws('|', platform, event_key, market, selection, price), ',' order by platform, event_key, selection)) as digest from odds`;
    const before = await upgraded.query<{ n: number; digest: string }>(prices);
    expect(before[0]!.n).toBe(300);

    await migrator.up();
    const columns = await upgraded.query<{ column_name: string }>(`select column_name from information_schema.columns where table_name = 'odds' and column_name = 'id'`);
    expect(columns).toEqual([]);
    const key = await upgraded.query<{ definition: string }>(`select pg_get_indexdef(indexrelid) as definition from pg_index where indrelid = 'odds'::regclass and indisprimary`);
    expect(key[0]!.definition).toContain('(event_key, market, selection, platform)');
    const indexes = await upgraded.query<{ indexname: string }>(`select indexname from pg_indexes where tablename = 'odds' order by 1`);
    expect(indexes.map((index) => index.indexname)).toEqual(['odds_event_name_trgm_idx', 'odds_pkey']);
    expect(await upgraded.query(prices)).toEqual(before);

    await migrator.down();
    const restored = await upgraded.query<{ n: number; ids: number }>(`select count(*)::int as n, count(distinct id)::int as ids from odds`);
    expect(restored[0]).toEqual({ n: 300, ids: 300 });
    await migrator.up();
    expect(await upgradedOrm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});
