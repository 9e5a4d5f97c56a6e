import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { FAILURE_REASONS, RUN_STATUSES, RUN_TRIGGERS, STEP_FAILURE_REASONS, STEP_STATUSES } from '../shared/contract.js';

/**
 * The schema of oddswatch. Constraints the database must enforce (one active run, one retry per run,
 * valid and final terminal statuses) are declared here so that migrations and entities cannot drift.
 */

const p = defineEntity.properties;

const ACTIVE = `'pending', 'running'`;

export const Run = defineEntity({
  name: 'Run',
  tableName: 'runs',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    status: p.enum([...RUN_STATUSES]),
    trigger: p.enum([...RUN_TRIGGERS]),
    failureReason: p.enum([...FAILURE_REASONS]).nullable(),
    retryOf: p.bigint('number').nullable().unique('runs_retry_of_unique'),
    platforms: p.array().columnType('text[]'),
    ownerId: p.string().columnType('text').nullable(),
    traceId: p.string().columnType('text').nullable(),
    lastSeq: p.integer().default(0),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    startedAt: p.datetime().columnType('timestamptz').nullable(),
    finishedAt: p.datetime().columnType('timestamptz').nullable(),
    heartbeatAt: p.datetime().columnType('timestamptz').nullable(),
  },
  // Written without IN (...): PostgreSQL rewrites IN to = ANY (ARRAY[...]), which the schema differ
  // would report as a change forever.
  checks: [
    {
      name: 'runs_failure_reason_matches_status',
      expression: `failure_reason IS NULL OR (status = 'failed' AND failure_reason <> 'connection_lost') OR (status = 'connection_failed' AND failure_reason = 'connection_lost')`,
    },
    { name: 'runs_finished_at_matches_status', expression: `(finished_at IS NOT NULL) = (status <> 'pending' AND status <> 'running')` },
    { name: 'runs_retry_of_matches_trigger', expression: `(trigger = 'retry') = (retry_of IS NOT NULL)` },
  ],
  indexes: [
    // At most one active run, whatever process or replica tries to start another.
    {
      name: 'runs_one_active_unique',
      expression: `create unique index "runs_one_active_unique" on "runs" ((true)) where status in (${ACTIVE})`,
    },
    { name: 'runs_status_created_idx', properties: ['status', 'createdAt'] },
    { name: 'runs_created_idx', properties: ['createdAt'] },
  ],
});
export type Run = InferEntity<typeof Run>;

export const PlatformStep = defineEntity({
  name: 'PlatformStep',
  tableName: 'platform_steps',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    run: () => p.manyToOne(Run).deleteRule('cascade'),
    platform: p.string().columnType('text'),
    status: p.enum([...STEP_STATUSES]).default('pending'),
    eventsFound: p.integer().default(0),
    startedAt: p.datetime().columnType('timestamptz').nullable(),
    finishedAt: p.datetime().columnType('timestamptz').nullable(),
    durationMs: p.integer().nullable(),
    error: p.string().columnType('text').nullable(),
    reason: p.enum([...STEP_FAILURE_REASONS]).nullable(),
    // Set when a step completes and its platform has enough previous successful scrapes (src/runs/volumeDrop.ts).
    expectedEvents: p.integer().nullable(),
    volumeDrop: p.boolean().nullable(),
  },
  uniques: [{ name: 'platform_steps_run_platform_unique', properties: ['run', 'platform'] }],
  checks: [{ name: 'platform_steps_reason_matches_status', expression: `reason IS NULL OR status = 'failed'` }],
  // A platform's last scrapes (GET /api/platforms/:name/history, last outcome per platform).
  indexes: [{ name: 'platform_steps_platform_finished_idx', properties: ['platform', 'finishedAt'] }],
});
export type PlatformStep = InferEntity<typeof PlatformStep>;

/** The persisted progress log. `id` is the global sequence of /api/events; `seq` orders a run's own events. */
export const RunEvent = defineEntity({
  name: 'RunEvent',
  tableName: 'run_events',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    run: () => p.manyToOne(Run).nullable().deleteRule('cascade'),
    seq: p.integer().nullable(),
    type: p.string().columnType('text'),
    payload: p.json<Record<string, unknown>>().columnType('jsonb'),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  uniques: [{ name: 'run_events_run_seq_unique', properties: ['run', 'seq'] }],
  checks: [{ name: 'run_events_seq_matches_run', expression: `(run_id IS NULL) = (seq IS NULL)` }],
});
export type RunEvent = InferEntity<typeof RunEvent>;

/**
 * Latest odds per (sporting event, market, selection, bookmaker), the primary key: upserted by every run,
 * never duplicated. Event key first, so the key also serves the ordered page over sporting events and its
 * join (no surrogate id, no separate event-key index: fewer structures for every new price to maintain).
 * The price and time of that bookmaker's previous scrape sit beside the current ones (movement), so the
 * table holds one row per price whatever the number of scrapes. Its pages are filled to half
 * (fillfactor 50, set by Migration20261126030000_odds_fillfactor: no entity option for it) so that a
 * run's rewrite of each row is a HOT update, touching no index.
 */
export const Odds = defineEntity({
  name: 'Odds',
  tableName: 'odds',
  properties: {
    eventKey: p.string().columnType('text').primary(),
    market: p.string().columnType('text').primary(),
    selection: p.string().columnType('text').primary(),
    platform: p.string().columnType('text').primary(),
    eventName: p.string().columnType('text'),
    price: p.decimal('number').precision(10).scale(3),
    scrapedAt: p.datetime().columnType('timestamptz'),
    runId: p.bigint('number'),
    previousPrice: p.decimal('number').precision(10).scale(3).nullable(),
    previousScrapedAt: p.datetime().columnType('timestamptz').nullable(),
  },
  checks: [{ name: 'odds_price_above_one', expression: 'price > 1' }],
});
export type Odds = InferEntity<typeof Odds>;

/**
 * The sporting events each bookmaker prices, by name: the index of GET /api/odds's name search. One row
 * per (sporting event, bookmaker) that has odds, written by the same statement as its odds and pruned
 * with them (see db/tables/odds.ts, sportingEvents.ts), so a new price adds no trigram entries: the GIN index holds
 * a name once per bookmaker instead of once per market and selection.
 */
export const SportingEvent = defineEntity({
  name: 'SportingEvent',
  tableName: 'sporting_events',
  properties: {
    eventKey: p.string().columnType('text').primary(),
    platform: p.string().columnType('text').primary(),
    eventName: p.string().columnType('text'),
  },
  indexes: [
    // Name search (ILIKE '%q%') without a scan of every name; pg_trgm is created by the migration.
    { name: 'sporting_events_event_name_trgm_idx', expression: `create index "sporting_events_event_name_trgm_idx" on "sporting_events" using gin ("event_name" gin_trgm_ops)` },
  ],
});
export type SportingEvent = InferEntity<typeof SportingEvent>;

/** Scheduler state that survives restarts. `intervalSeconds` is an operator override (null: the configured interval). */
export const SchedulerJobSetting = defineEntity({
  name: 'SchedulerJobSetting',
  tableName: 'scheduler_jobs',
  properties: {
    id: p.string().columnType('text').primary(),
    intervalSeconds: p.integer().nullable(),
    paused: p.boolean().default(false),
    lastRunAt: p.datetime().columnType('timestamptz').nullable(),
    nextRunAt: p.datetime().columnType('timestamptz').nullable(),
    updatedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
});
export type SchedulerJobSetting = InferEntity<typeof SchedulerJobSetting>;

/**
 * Watchers per replica, published with a lease (src/replicas/presence.ts): a row stops counting once
 * `leaseUntil` passes. `runSubscribers` maps a run id to that replica's run-stream subscriber count.
 */
export const ReplicaPresence = defineEntity({
  name: 'ReplicaPresence',
  tableName: 'replica_presence',
  properties: {
    replicaId: p.string().columnType('text').primary(),
    globalSubscribers: p.integer().default(0),
    runSubscribers: p.json<Record<string, number>>().columnType('jsonb'),
    leaseUntil: p.datetime().columnType('timestamptz'),
    updatedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  indexes: [{ name: 'replica_presence_lease_idx', properties: ['leaseUntil'] }],
});
export type ReplicaPresence = InferEntity<typeof ReplicaPresence>;

export const entities = [Run, PlatformStep, RunEvent, Odds, SportingEvent, SchedulerJobSetting, ReplicaPresence];
