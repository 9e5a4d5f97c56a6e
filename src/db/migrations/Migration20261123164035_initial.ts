import { Migration } from '@mikro-orm/migrations';

export class Migration20261123164035_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "odds" ("id" bigserial primary key, "platform" text not null, "event_key" text not null, "event_name" text not null, "market" text not null, "selection" text not null, "price" numeric(10,3) not null, "scraped_at" timestamptz not null, "run_id" bigint not null, constraint odds_price_above_one check (price > 1));`);
    this.addSql(`alter table "odds" add constraint "odds_natural_key_unique" unique ("platform", "event_key", "market", "selection");`);

    this.addSql(`create table "runs" ("id" bigserial primary key, "status" text check ("status" in ('pending', 'running', 'completed', 'partial', 'failed', 'connection_failed')) not null, "trigger" text check ("trigger" in ('scheduled', 'api', 'api-stream', 'retry')) not null, "failure_reason" text check ("failure_reason" in ('all_platforms_failed', 'stale', 'interrupted', 'connection_lost')) null, "retry_of" bigint null, "platforms" text[] not null, "owner_id" text null, "trace_id" text null, "events_found" int not null default 0, "last_seq" int not null default 0, "created_at" timestamptz not null default now(), "started_at" timestamptz null, "finished_at" timestamptz null, "heartbeat_at" timestamptz null, constraint runs_failure_reason_matches_status check (failure_reason IS NULL OR (status = 'failed' AND failure_reason <> 'connection_lost') OR (status = 'connection_failed' AND failure_reason = 'connection_lost')), constraint runs_finished_at_matches_status check ((finished_at IS NOT NULL) = (status <> 'pending' AND status <> 'running')), constraint runs_retry_of_matches_trigger check ((trigger = 'retry') = (retry_of IS NOT NULL)));`);
    this.addSql(`alter table "runs" add constraint "runs_retry_of_unique" unique ("retry_of");`);
    this.addSql(`create unique index "runs_one_active_unique" on "runs" ((true)) where status in ('pending', 'running');`);
    this.addSql(`create index "runs_status_created_idx" on "runs" ("status", "created_at");`);
    this.addSql(`create index "runs_created_idx" on "runs" ("created_at");`);

    this.addSql(`create table "platform_steps" ("id" bigserial primary key, "run_id" bigint not null, "platform" text not null, "status" text check ("status" in ('pending', 'running', 'completed', 'failed', 'skipped')) not null default 'pending', "events_found" int not null default 0, "started_at" timestamptz null, "finished_at" timestamptz null, "duration_ms" int null, "error" text null);`);
    this.addSql(`alter table "platform_steps" add constraint "platform_steps_run_platform_unique" unique ("run_id", "platform");`);

    this.addSql(`create table "run_events" ("id" bigserial primary key, "run_id" bigint null, "seq" int null, "type" text not null, "payload" jsonb not null, "created_at" timestamptz not null default now(), constraint run_events_seq_matches_run check ((run_id IS NULL) = (seq IS NULL)));`);
    this.addSql(`alter table "run_events" add constraint "run_events_run_seq_unique" unique ("run_id", "seq");`);

    this.addSql(`create table "scheduler_jobs" ("id" text not null, "interval_seconds" int null, "paused" boolean not null default false, "last_run_at" timestamptz null, "updated_at" timestamptz not null default now(), constraint "scheduler_jobs_pkey" primary key ("id"));`);

    this.addSql(`alter table "platform_steps" add constraint "platform_steps_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "run_events" add constraint "run_events_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);

    // Hand-written: a terminal status is final. Compare-and-set updates already guarantee it; this
    // catches any code path (or operator SQL) that forgets the WHERE status = ... guard.
    this.addSql(`create function runs_terminal_is_final() returns trigger language plpgsql as $$
begin
  if old.status in ('completed', 'partial', 'failed', 'connection_failed') and new.status is distinct from old.status then
    raise exception 'run % is % and cannot become %', old.id, old.status, new.status using errcode = 'check_violation';
  end if;
  return new;
end $$;`);
    this.addSql(`create trigger runs_terminal_is_final before update of status on "runs" for each row execute function runs_terminal_is_final();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "run_events", "platform_steps", "odds", "scheduler_jobs", "runs" cascade;`);
    this.addSql(`drop function if exists runs_terminal_is_final();`);
  }

}
