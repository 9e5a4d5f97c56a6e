import { Migration } from '@mikro-orm/migrations';

/** Step reasons of the `browser` kind: `layout` (what the entry waits for never appeared) and `browser` (no Chromium, or it crashed). */
export class Migration20261206030000_browser_reasons extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_check";`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_check" check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value', 'forbidden_address', 'layout', 'browser', 'unexpected'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`update "platform_steps" set "reason" = 'unexpected' where "reason" in ('layout', 'browser');`);
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_check";`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_check" check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value', 'forbidden_address', 'unexpected'));`);
  }

}
