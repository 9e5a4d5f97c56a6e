import { Migration } from '@mikro-orm/migrations';

export class Migration20261125130000_odds_movement extends Migration {

  override async up(): Promise<void> {
    // Hand-written: the trigram operator class of the name-search index. pg_trgm ships with PostgreSQL
    // (contrib, in the embedded server too) and is a trusted extension: the database owner may create it.
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`alter table "odds" add column "previous_price" numeric(10,3) null, add column "previous_scraped_at" timestamptz null;`);
    this.addSql(`create index "odds_event_key_idx" on "odds" ("event_key");`);
    this.addSql(`create index "odds_event_name_trgm_idx" on "odds" using gin ("event_name" gin_trgm_ops);`);

    this.addSql(`create index "platform_steps_platform_finished_idx" on "platform_steps" ("platform", "finished_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "odds_event_key_idx";`);
    this.addSql(`drop index "odds_event_name_trgm_idx";`);
    this.addSql(`alter table "odds" drop column "previous_price", drop column "previous_scraped_at";`);

    this.addSql(`drop index "platform_steps_platform_finished_idx";`);
  }

}
