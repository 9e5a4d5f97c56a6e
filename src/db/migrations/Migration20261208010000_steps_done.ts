import { Migration } from '@mikro-orm/migrations';

/**
 * Steps are jobs any replica may run: the run counts its ended steps in its own row, advanced by each step's
 * final statement whichever replica ran it, so every progress event carries one exact count.
 */
export class Migration20261208010000_steps_done extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "runs" add column "steps_done" int not null default 0;`);
    this.addSql(`update "runs" r set "steps_done" = (select count(*) from "platform_steps" s where s."run_id" = r."id" and s."status" in ('completed', 'failed'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "runs" drop column "steps_done";`);
  }

}
