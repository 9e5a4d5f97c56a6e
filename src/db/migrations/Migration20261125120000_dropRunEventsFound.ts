import { Migration } from '@mikro-orm/migrations';

export class Migration20261125120000_dropRunEventsFound extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "runs" drop column "events_found";`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "runs" add column "events_found" int4 not null default 0;`);
  }

}
