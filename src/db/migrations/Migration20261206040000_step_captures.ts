import { Migration } from '@mikro-orm/migrations';

/**
 * A failed browser step's page at the moment of failure: one row per step at most, deleted with its run
 * (cascade), by retention with the run's progress events, and beyond the latest 20 of its platform. The
 * checks hold the byte bounds of PAGE_CAPTURE_LIMITS (src/shared/contract.ts) as they were set here.
 */
export class Migration20261206040000_step_captures extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "step_captures" ("run_id" bigint not null, "platform" text not null, "url" text not null, "screenshot" bytea null, "html" text not null, "html_truncated" boolean not null, "screenshot_dropped" boolean not null, "created_at" timestamptz not null default now(), constraint "step_captures_pkey" primary key ("run_id", "platform"), constraint step_captures_screenshot_bounded check (octet_length(screenshot) <= 524288), constraint step_captures_html_bounded check (octet_length(html) <= 262144));`);
    this.addSql(`create index "step_captures_platform_created_idx" on "step_captures" ("platform", "created_at");`);
    this.addSql(`alter table "step_captures" add constraint "step_captures_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "step_captures" cascade;`);
  }

}
