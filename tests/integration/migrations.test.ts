import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { applyMigrations } from '../../src/db/applyMigrations.js';
import { openDatabase } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import { DEFAULT_DATABASE_TIMEOUTS, ormConfig } from '../../src/db/ormConfig.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

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

describe('the odds storage migrations (natural primary key, sporting_events)', () => {
  let upgraded: TestDatabase;
  let upgradedOrm: MikroORM;
  afterAll(async () => {
    await upgradedOrm?.close(true);
    await upgraded?.drop();
  });

  it('upgrade a table that holds prices without losing one, fill sporting_events with each latest name, and go back down', async () => {
    upgraded = await createTestDatabase();
    upgradedOrm = await MikroORM.init(ormConfig(upgraded.url));
    const migrator = upgradedOrm.getMigrator();
    await migrator.up({ to: 'Migration20261126030000_odds_fillfactor' });
    // 3 bookmakers x 20 sporting events x 5 selections; each row's name differs, the newest row of a
    // (sporting event, bookmaker) is its lowest n.
    await upgraded.query(
      `insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
       select 'p' || (n % 3), 'ev-' || (n / 15), 'name-' || n, 'match_result', 's' || (n % 5), 1.5 + n / 1000.0, now() - make_interval(secs => n), 1
       from generate_series(0, 299) as n`,
    );
    const prices = `select count(*)::int as n, md5(string_agg(concat_ws('|', platform, event_key, market, selection, price), ',' order by platform, event_key, selection)) as digest from odds`;
    const before = await upgraded.query<{ n: number; digest: string }>(prices);
    expect(before[0]!.n).toBe(300);
    const indexesOf = async (table: string) =>
      (await upgraded.query<{ indexname: string }>(`select indexname from pg_indexes where tablename = $1 order by 1`, [table])).map((index) => index.indexname);

    await migrator.up({ to: 'Migration20261126040000_odds_natural_primary_key' });
    expect(await upgraded.query(`select column_name from information_schema.columns where table_name = 'odds' and column_name = 'id'`)).toEqual([]);
    const key = await upgraded.query<{ definition: string }>(`select pg_get_indexdef(indexrelid) as definition from pg_index where indrelid = 'odds'::regclass and indisprimary`);
    expect(key[0]!.definition).toContain('(event_key, market, selection, platform)');
    expect(await indexesOf('odds')).toEqual(['odds_event_name_trgm_idx', 'odds_pkey']);
    expect(await upgraded.query(prices)).toEqual(before);

    await migrator.up({ to: 'Migration20261126050000_sporting_events' });
    expect(await indexesOf('odds')).toEqual(['odds_pkey']);
    expect(await indexesOf('sporting_events')).toEqual(['sporting_events_event_name_trgm_idx', 'sporting_events_pkey']);
    expect(await upgraded.query(prices)).toEqual(before);
    const named = await upgraded.query<{ event_key: string; platform: string; event_name: string }>(`select event_key, platform, event_name from sporting_events order by event_key, platform`);
    const expected = await upgraded.query(
      `select event_key, platform, 'name-' || min(substring(event_name from 6)::int) as event_name from odds group by event_key, platform order by event_key, platform`,
    );
    expect(named).toHaveLength(60);
    expect(named).toEqual(expected);

    await migrator.down();
    expect(await indexesOf('odds')).toEqual(['odds_event_name_trgm_idx', 'odds_pkey']);
    await migrator.down();
    const restored = await upgraded.query<{ n: number; ids: number }>(`select count(*)::int as n, count(distinct id)::int as ids from odds`);
    expect(restored[0]).toEqual({ n: 300, ids: 300 });
    await migrator.up();
    expect(await upgradedOrm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});

describe('the step reason migration', () => {
  let stepped: TestDatabase;
  let steppedOrm: MikroORM;
  afterAll(async () => {
    await steppedOrm?.close(true);
    await stepped?.drop();
  });

  it('adds a nullable reason from the closed set, only on failed steps, keeps the steps there, and goes down and up again', async () => {
    stepped = await createTestDatabase();
    steppedOrm = await MikroORM.init(ormConfig(stepped.url));
    const migrator = steppedOrm.getMigrator();
    await migrator.up({ to: 'Migration20261126050000_sporting_events' });
    await stepped.query(`insert into runs (id, status, trigger, platforms, finished_at) values (1, 'partial', 'api', '{a,b}', now())`);
    await stepped.query(
      `insert into platform_steps (run_id, platform, status, error, finished_at) values (1, 'a', 'completed', null, now()), (1, 'b', 'failed', 'feed answered HTTP 500 on page 1', now())`,
    );
    const columnOf = async () => stepped.query(`select column_name from information_schema.columns where table_name = 'platform_steps' and column_name = 'reason'`);

    await migrator.up();
    expect(await stepped.query(`select platform, status, reason from platform_steps order by platform`)).toEqual([
      { platform: 'a', status: 'completed', reason: null },
      { platform: 'b', status: 'failed', reason: null },
    ]);
    await stepped.query(`update platform_steps set reason = 'http_5xx' where platform = 'b'`);
    await stepped.query(`update platform_steps set reason = 'forbidden_address' where platform = 'b'`);
    await expect(stepped.query(`update platform_steps set reason = 'teapot' where platform = 'b'`)).rejects.toThrow(/check constraint/);
    await expect(stepped.query(`update platform_steps set reason = 'parse' where platform = 'a'`)).rejects.toThrow(/platform_steps_reason_matches_status/);

    await migrator.down({ to: 'Migration20261206010000_step_reason' });
    expect(await columnOf()).toEqual([]);
    expect(await stepped.query(`select count(*)::int as n from platform_steps`)).toEqual([{ n: 2 }]);
    await migrator.up();
    expect(await columnOf()).toEqual([{ column_name: 'reason' }]);
    expect(await steppedOrm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});

describe('the bookmakers and matching migration', () => {
  let matched: TestDatabase;
  let matchedOrm: MikroORM;
  afterAll(async () => {
    await matchedOrm?.close(true);
    await matched?.drop();
  });

  it('empties the odds and keys them with the bookmaker, makes sporting events of its own with listings, keeps runs and steps, and goes down and up again', async () => {
    matched = await createTestDatabase();
    matchedOrm = await MikroORM.init(ormConfig(matched.url));
    const migrator = matchedOrm.getMigrator();
    await migrator.up({ to: 'Migration20261206010000_step_reason' });
    await matched.query(`insert into runs (id, status, trigger, platforms, finished_at) values (1, 'partial', 'api', '{a,b}', now())`);
    await matched.query(
      `insert into platform_steps (run_id, platform, status, error, reason, finished_at) values (1, 'a', 'completed', null, null, now()), (1, 'b', 'failed', 'platform answered HTTP 500 on page 1', 'http_5xx', now())`,
    );
    await matched.query(
      `insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
       select 'a', 'ev-' || n, 'Home ' || n || ' v Away', 'total_goals_2.5', 'over', 1.5 + n / 100.0, now(), 1 from generate_series(0, 9) as n`,
    );
    await matched.query(`insert into sporting_events (event_key, platform, event_name) select distinct event_key, platform, event_name from odds`);
    const columns = async (table: string) =>
      (await matched.query<{ column_name: string }>(`select column_name from information_schema.columns where table_name = $1 order by column_name`, [table])).map((row) => row.column_name);
    const primaryKey = async (table: string) =>
      (await matched.query<{ definition: string }>(`select pg_get_indexdef(indexrelid) as definition from pg_index where indrelid = $1::regclass and indisprimary`, [table]))[0]!.definition;
    const priceType = async () =>
      (await matched.query<{ type: string }>(`select format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = 'odds'::regclass and attname = 'price'`))[0]!.type;
    const count = async (table: string) => (await matched.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]!.n;
    const steps = `select platform, status, reason from platform_steps order by platform`;

    await migrator.up({ to: 'Migration20261206020000_bookmakers_and_matching' });
    // The latest prices are read again by the next run: their keys, markets and selections changed meaning.
    expect(await count('odds')).toBe(0);
    expect(await count('sporting_events')).toBe(0);
    expect(await primaryKey('odds')).toContain('(platform, event_key, market, selection, bookmaker)');
    expect(await columns('odds')).toEqual(expect.arrayContaining(['bookmaker', 'price_text']));
    expect(await priceType()).toBe('numeric(12,4)');
    expect(await columns('sporting_events')).toEqual(['created_at', 'event_name', 'first_key', 'home_key', 'id', 'second_key', 'starts_at']);
    expect(await primaryKey('event_listings')).toContain('(platform, event_key)');
    expect(await columns('event_listings')).toEqual(expect.arrayContaining(['sporting_event_id', 'swapped']));
    // The odds page walks listings by sporting event and searches their names.
    expect((await matched.query<{ indexname: string }>(`select indexname from pg_indexes where tablename = 'event_listings' order by 1`)).map((row) => row.indexname)).toEqual([
      'event_listings_event_name_trgm_idx',
      'event_listings_pkey',
      'event_listings_sporting_event_id_idx',
    ]);
    expect(await primaryKey('participant_aliases')).toContain('(alias_key)');
    expect(await count('runs')).toBe(1);
    expect(await matched.query(steps)).toEqual([
      { platform: 'a', status: 'completed', reason: null },
      { platform: 'b', status: 'failed', reason: 'http_5xx' },
    ]);
    // Four places of a price, and the new reasons.
    await matched.query(
      `insert into odds (platform, event_key, event_name, market, selection, bookmaker, price, price_text, scraped_at, run_id) values ('a', '9001', 'X v Y', 'totals', 'over 2.5', 'tideway', 2.3704, '-270', now(), 1)`,
    );
    expect(await matched.query(`select price::text as price from odds`)).toEqual([{ price: '2.3704' }]);
    await matched.query(`update platform_steps set reason = 'unexpected' where platform = 'b'`);
    await matched.query(`update platform_steps set reason = 'forbidden_address' where platform = 'b'`);

    await migrator.down();
    expect(await count('odds')).toBe(0);
    expect(await primaryKey('odds')).toContain('(event_key, market, selection, platform)');
    expect(await columns('odds')).not.toContain('bookmaker');
    expect(await priceType()).toBe('numeric(10,3)');
    expect(await columns('sporting_events')).toEqual(['event_key', 'event_name', 'platform']);
    expect(await columns('event_listings')).toEqual([]);
    expect(await columns('participant_aliases')).toEqual([]);
    // A reason the older schema does not know becomes the closest it does.
    expect(await matched.query(steps)).toEqual([
      { platform: 'a', status: 'completed', reason: null },
      { platform: 'b', status: 'failed', reason: 'network' },
    ]);
    await expect(matched.query(`update platform_steps set reason = 'unexpected' where platform = 'b'`)).rejects.toThrow(/check constraint/);

    await migrator.up();
    expect(await primaryKey('odds')).toContain('(platform, event_key, market, selection, bookmaker)');
    expect(await matchedOrm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).toBe('');
    expect(await migrator.checkMigrationNeeded()).toBe(false);
  });
});

describe('applying migrations at start-up', () => {
  const silent = pino({ level: 'silent' });

  it('waits, and says so, while another replica holds the migrations lock', async () => {
    const fresh = await createTestDatabase();
    const other = new pg.Client({ connectionString: fresh.url });
    await other.connect();
    const lines: { msg?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg?: string }) });
    try {
      await other.query(`select pg_advisory_lock(hashtextextended('oddswatch-migrations', 0))`);
      const applying = applyMigrations(fresh.url, logger, DEFAULT_DATABASE_TIMEOUTS);
      await waitFor(() => lines.some((line) => line.msg === 'waiting for another replica to apply the database migrations') || undefined, { timeoutMs: 5_000, what: 'the waiting line' });
      expect(await fresh.query(`select to_regclass('mikro_orm_migrations') as t`)).toEqual([{ t: null }]);
      await other.query(`select pg_advisory_unlock(hashtextextended('oddswatch-migrations', 0))`);
      expect(await applying).toHaveLength(migrations.length);
    } finally {
      await other.end();
      await fresh.drop();
    }
  });

  it('applies them once when two replicas start together: the second waits for the first, then finds nothing left', async () => {
    const fresh = await createTestDatabase();
    try {
      const applied = await Promise.all([applyMigrations(fresh.url, silent, DEFAULT_DATABASE_TIMEOUTS), applyMigrations(fresh.url, silent, DEFAULT_DATABASE_TIMEOUTS)]);
      expect(applied.map((names) => names.length).sort((a, b) => a - b)).toEqual([0, migrations.length]);
      const [recorded] = await fresh.query<{ n: number }>('select count(*)::int as n from mikro_orm_migrations');
      expect(recorded!.n).toBe(migrations.length);
    } finally {
      await fresh.drop();
    }
  });

  it("are not bound by the service's statement timeout, which the service's own connections keep", async () => {
    const populated = await createTestDatabase();
    const early = await MikroORM.init(ormConfig(populated.url));
    let service: MikroORM | undefined;
    try {
      await early.getMigrator().up({ to: 'Migration20261126030000_odds_fillfactor' });
      await early.close(true);
      // 300,000 prices: rebuilding their key and filling sporting_events takes well over 200 ms.
      await populated.query(
        `insert into odds (platform, event_key, event_name, market, selection, price, scraped_at, run_id)
         select 'p' || (n % 6), 'ev-' || (n / 30), 'Team ' || (n / 30) || ' v Team ' || (n / 30 + 1), 'm' || ((n / 6) % 5 / 3), 's' || ((n / 6) % 5), 1.5 + (n % 100) / 100.0, now(), 1
         from generate_series(0, 299999) as n`,
      );
      service = await openDatabase(populated.url, silent, { statementTimeoutMs: 200, connectTimeoutMs: 3_000 });
      expect(await service.getMigrator().getPendingMigrations()).toEqual([]);
      const [setting] = await service.em.getConnection().execute<{ statement_timeout: string }[]>('show statement_timeout');
      expect(setting!.statement_timeout).toBe('200ms');
    } finally {
      await service?.close(true);
      await early.close(true);
      await populated.drop();
    }
  }, 60_000);
});
