import { Migration } from '@mikro-orm/migrations';

/**
 * Hand-written (MikroORM 6.6 has no entity option for storage parameters, and its schema diff does not read
 * them, so the snapshot is unchanged): odds pages filled to half. Every run rewrites each of its rows (price,
 * previous price, scrape times, run id) and leaves the indexed columns as they were, so with room on the
 * page the new row version stays there as a HOT update: no new entry in any of the four indexes (primary
 * key, natural key, event_key, the GIN trigram index on event_name) and about a third of the WAL. At the
 * default fillfactor (100) the pages a run inserted are full and under 1% of its updates were HOT.
 * A half page holds every row's next version (rows are ~110-125 bytes); the dead versions of the run
 * before are pruned from the page when the next run reads it. Applies to pages written from now on:
 * existing full pages are not rewritten (no table lock), their rows move to new half-filled pages as
 * they are updated.
 */
export class Migration20261126030000_odds_fillfactor extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "odds" set (fillfactor = 50);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "odds" reset (fillfactor);`);
  }

}
