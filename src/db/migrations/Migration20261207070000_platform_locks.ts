import { Migration } from '@mikro-orm/migrations';

/** One scrape per platform at a time across replicas, and its request spacing from one replica to the next. */
export class Migration20261207070000_platform_locks extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "platform_locks" ("platform" text not null, "holder" text null, "taken_at" timestamptz null, "released_at" timestamptz null, constraint "platform_locks_pkey" primary key ("platform"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table "platform_locks";`);
  }

}
