import { Migration } from '@mikro-orm/migrations';

/**
 * The implausible-markets check on each step (src/quality/implausibleMarkets.ts): complete markets judged,
 * how many were implausible, and the first few for the operator. Steps recorded before have 0 and 0.
 */
export class Migration20261207010000_implausible_markets extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "markets_checked" int not null default 0, add column "implausible_markets" int not null default 0, add column "implausible_examples" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop column "markets_checked", drop column "implausible_markets", drop column "implausible_examples";`);
  }

}
