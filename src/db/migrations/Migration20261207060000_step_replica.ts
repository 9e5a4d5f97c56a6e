import { Migration } from '@mikro-orm/migrations';

/** Which replica scraped each step (`replica` on GET /api/runs/:id), set when the step starts. */
export class Migration20261207060000_step_replica extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "replica" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop column "replica";`);
  }

}
