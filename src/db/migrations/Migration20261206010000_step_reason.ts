import { Migration } from '@mikro-orm/migrations';

/** Why a failed step failed (STEP_FAILURE_REASONS), null on every other step; steps failed before it have none. */
export class Migration20261206010000_step_reason extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "reason" text check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value')) null;`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_matches_status" check (reason IS NULL OR status = 'failed');`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_matches_status";`);
    this.addSql(`alter table "platform_steps" drop column "reason";`);
  }

}
