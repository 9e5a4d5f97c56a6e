import { Migration } from '@mikro-orm/migrations';

export class Migration20261125140000_replica_presence extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "replica_presence" ("replica_id" text not null, "global_subscribers" int not null default 0, "run_subscribers" jsonb not null, "lease_until" timestamptz not null, "updated_at" timestamptz not null default now(), constraint "replica_presence_pkey" primary key ("replica_id"));`);
    this.addSql(`create index "replica_presence_lease_idx" on "replica_presence" ("lease_until");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "replica_presence" cascade;`);
  }

}
