import { Migration } from '@mikro-orm/migrations';

/**
 * Platforms of several kinds, one sporting event across them:
 * - `odds` gets the bookmaker (an odds-api platform brings many) in its key, the price as the platform
 *   wrote it, and 4 decimal places; its key starts with (platform, event_key), the join from a listing.
 * - `sporting_events` becomes oddswatch's own sporting event (a stable id, its participants' keys, which
 *   of them is at home, and its start time: what matching compares); the per-platform rows it held become
 *   `event_listings`, each pointing at its sporting event, `swapped` when the platform has home and away
 *   the other way round (its home and away selections are read swapped).
 * - `participant_aliases`: names normalisation cannot join ("Man Utd" = "Manchester United").
 * - step reasons `forbidden_address` and `unexpected`.
 * The stored odds are emptied: they are the latest prices, read again by the next run, and their event
 * keys, markets and selections change meaning (a platform's own id, canonical names). Runs and steps stay.
 */
export class Migration20261206020000_bookmakers_and_matching extends Migration {

  override async up(): Promise<void> {
    this.addSql(`truncate table "odds", "sporting_events";`);
    this.addSql(`drop table "sporting_events";`);
    this.addSql(`create table "sporting_events" ("id" bigserial primary key, "event_name" text not null, "first_key" text null, "second_key" text null, "home_key" text null, "starts_at" timestamptz null, "created_at" timestamptz not null default now());`);
    this.addSql(`create index "sporting_events_pair_idx" on "sporting_events" ("first_key", "second_key", "starts_at");`);
    this.addSql(`create table "event_listings" ("platform" text not null, "event_key" text not null, "event_name" text not null, "home" text null, "away" text null, "starts_at" timestamptz null, "first_key" text null, "second_key" text null, "sporting_event_id" bigint not null, "swapped" boolean not null default false, constraint "event_listings_pkey" primary key ("platform", "event_key"));`);
    this.addSql(`create index "event_listings_sporting_event_id_idx" on "event_listings" ("sporting_event_id");`);
    this.addSql(`create index "event_listings_event_name_trgm_idx" on "event_listings" using gin ("event_name" gin_trgm_ops);`);
    this.addSql(`create table "participant_aliases" ("alias_key" text not null, "alias" text not null, "canonical" text not null, "canonical_key" text not null, "created_at" timestamptz not null default now(), constraint "participant_aliases_pkey" primary key ("alias_key"));`);
    this.addSql(`alter table "odds" drop constraint "odds_pkey";`);
    this.addSql(`alter table "odds" add column "bookmaker" text not null, add column "price_text" text not null;`);
    this.addSql(`alter table "odds" alter column "price" type numeric(12,4), alter column "previous_price" type numeric(12,4);`);
    this.addSql(`alter table "odds" add constraint "odds_pkey" primary key ("platform", "event_key", "market", "selection", "bookmaker");`);
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_check";`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_check" check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value', 'forbidden_address', 'unexpected'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`update "platform_steps" set "reason" = 'network' where "reason" in ('forbidden_address', 'unexpected');`);
    this.addSql(`alter table "platform_steps" drop constraint "platform_steps_reason_check";`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_reason_check" check ("reason" in ('timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value'));`);
    this.addSql(`truncate table "odds";`);
    this.addSql(`alter table "odds" drop constraint "odds_pkey";`);
    this.addSql(`alter table "odds" drop column "bookmaker", drop column "price_text";`);
    this.addSql(`alter table "odds" alter column "price" type numeric(10,3), alter column "previous_price" type numeric(10,3);`);
    this.addSql(`alter table "odds" add constraint "odds_pkey" primary key ("event_key", "market", "selection", "platform");`);
    this.addSql(`drop table "participant_aliases";`);
    this.addSql(`drop table "event_listings";`);
    this.addSql(`drop table "sporting_events";`);
    this.addSql(`create table "sporting_events" ("event_key" text not null, "platform" text not null, "event_name" text not null, constraint "sporting_events_pkey" primary key ("event_key", "platform"));`);
    this.addSql(`create index "sporting_events_event_name_trgm_idx" on "sporting_events" using gin ("event_name" gin_trgm_ops);`);
  }

}
