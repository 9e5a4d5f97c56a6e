import { Migration } from '@mikro-orm/migrations';

/**
 * Step attempts: a step whose replica died is scraped again by the replica that takes its run over, as its
 * next attempt; one that used its attempts fails with the step reason `interrupted`.
 */
export class Migration20261207080000_step_attempts extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "attempt" int not null default 1;`);
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_check";`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_check" check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value', 'forbidden_address', 'layout', 'browser', 'interrupted', 'unexpected'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`update "platform_steps" set "reason" = 'unexpected' where "reason" = 'interrupted';`);
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_check";`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_check" check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value', 'forbidden_address', 'layout', 'browser', 'unexpected'));`);
    this.addSql(`alter table "platform_steps" drop column "attempt";`);
  }

}
