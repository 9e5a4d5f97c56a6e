import { Migration } from '@mikro-orm/migrations';

export class Migration20261126010000_volume_drop extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "expected_events" int null, add column "volume_drop" boolean null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop column "expected_events", drop column "volume_drop";`);
  }

}
