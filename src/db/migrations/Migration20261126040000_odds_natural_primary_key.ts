import { Migration } from '@mikro-orm/migrations';

/**
 * The odds natural key becomes the primary key, event key first: (event_key, market, selection, platform).
 * The surrogate `id` (a bigserial nothing reads) and the separate `odds_event_key_idx` go: the new key
 * serves the ordered page over sporting events, its join and the upsert's conflict check, so a new price
 * maintains three structures (heap, key, trigram index) instead of five (heap, id sequence, primary key,
 * natural key, event-key index). Measured in bench:engine and bench:odds (docs/architecture.md).
 * The key is built under the table lock of this transaction: about 1 s for a million prices on a 2-core machine.
 */
export class Migration20261126040000_odds_natural_primary_key extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "odds" drop constraint "odds_pkey";`);
    this.addSql(`alter table "odds" drop column "id";`);
    this.addSql(`alter table "odds" drop constraint "odds_natural_key_unique";`);
    this.addSql(`drop index "odds_event_key_idx";`);
    this.addSql(`alter table "odds" add constraint "odds_pkey" primary key ("event_key", "market", "selection", "platform");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "odds" drop constraint "odds_pkey";`);
    this.addSql(`alter table "odds" add column "id" bigserial primary key;`);
    this.addSql(`alter table "odds" add constraint "odds_natural_key_unique" unique ("platform", "event_key", "market", "selection");`);
    this.addSql(`create index "odds_event_key_idx" on "odds" ("event_key");`);
  }

}
