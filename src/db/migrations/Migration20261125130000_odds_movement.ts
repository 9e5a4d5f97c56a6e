import { Migration } from '@mikro-orm/migrations';

export class Migration20261125130000_odds_movement extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "odds" add column "previous_price" numeric(10,3) null, add column "previous_scraped_at" timestamptz null;`);
    this.addSql(`create index "odds_event_key_idx" on "odds" ("event_key");`);

    this.addSql(`create index "platform_steps_platform_finished_idx" on "platform_steps" ("platform", "finished_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "odds_event_key_idx";`);
    this.addSql(`alter table "odds" drop column "previous_price", drop column "previous_scraped_at";`);

    this.addSql(`drop index "platform_steps_platform_finished_idx";`);
  }

}
