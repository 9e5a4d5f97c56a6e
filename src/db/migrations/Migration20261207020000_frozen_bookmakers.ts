import { Migration } from '@mikro-orm/migrations';

/**
 * The frozen-bookmaker check (src/quality/frozenBookmakers.ts): each bookmaker's run of scrapes without a
 * price change and its last verdict, and the bookmakers each step found frozen.
 */
export class Migration20261207020000_frozen_bookmakers extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "bookmaker_quality" ("platform" text not null, "bookmaker" text not null, "unchanged_scrapes" int not null default 0, "last_moved_at" timestamptz null, "frozen" boolean not null default false, "updated_at" timestamptz not null default now(), constraint "bookmaker_quality_pkey" primary key ("platform", "bookmaker"));`);
    this.addSql(`alter table "platform_steps" add column "frozen_bookmakers" text[] null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop column "frozen_bookmakers";`);
    this.addSql(`drop table if exists "bookmaker_quality" cascade;`);
  }

}
