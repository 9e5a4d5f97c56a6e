import { Migration } from '@mikro-orm/migrations';

/** The outlier count of each completed step (src/runs/reportOutliers.ts), written right after its run. */
export class Migration20261207040000_outlier_prices extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "platform_steps" add column "outlier_prices" int null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "platform_steps" drop column "outlier_prices";`);
  }

}
