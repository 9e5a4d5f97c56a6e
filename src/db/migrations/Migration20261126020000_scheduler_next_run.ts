import { Migration } from '@mikro-orm/migrations';

/** The leader stores each job's next run, so every replica answers GET /api/scheduler the same. */
export class Migration20261126020000_scheduler_next_run extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "scheduler_jobs" add column "next_run_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "scheduler_jobs" drop column "next_run_at";`);
  }

}
