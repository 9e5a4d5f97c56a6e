import { Migration } from '@mikro-orm/migrations';

/** The coverage check (src/quality/coverage.ts): each bookmaker's share of the matched sporting events on the step, and its drops. */
export class Migration20261207030000_coverage extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "coverage" jsonb null, add column "coverage_drops" text[] null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop column "coverage", drop column "coverage_drops";`);
  }

}
