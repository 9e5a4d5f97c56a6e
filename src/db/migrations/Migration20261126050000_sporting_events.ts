import { Migration } from '@mikro-orm/migrations';

/**
 * Name search moves from a trigram index over every price to `sporting_events`, one row per (sporting event,
 * bookmaker) that has odds: a new price no longer adds a dozen trigram entries to a GIN index (the largest
 * per-row cost of an odds insert with real names; bench:engine), and a name is indexed once per bookmaker
 * instead of once per market and selection. Filled from the odds already stored (each bookmaker's latest
 * name for the sporting event).
 */
export class Migration20261126050000_sporting_events extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "sporting_events" ("event_key" text not null, "platform" text not null, "event_name" text not null, constraint "sporting_events_pkey" primary key ("event_key", "platform"));`);
    this.addSql(`insert into "sporting_events" ("event_key", "platform", "event_name")
      select distinct on ("event_key", "platform") "event_key", "platform", "event_name" from "odds" order by "event_key", "platform", "scraped_at" desc;`);
    this.addSql(`create index "sporting_events_event_name_trgm_idx" on "sporting_events" using gin ("event_name" gin_trgm_ops);`);
    this.addSql(`drop index "odds_event_name_trgm_idx";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index "odds_event_name_trgm_idx" on "odds" using gin ("event_name" gin_trgm_ops);`);
    this.addSql(`drop table "sporting_events";`);
  }

}
