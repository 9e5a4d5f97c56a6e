import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { FAILURE_REASONS, PAGE_CAPTURE_LIMITS, RUN_STATUSES, RUN_TRIGGERS, STEP_FAILURE_REASONS, STEP_STATUSES } from '../shared/contract.js';

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
    /** Steps ended with their event (completed or failed), whichever replica ran them: every platform event's platformsDone. */
    stepsDone: p.integer().default(0),
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
    // 1, then one more each time the replica scraping the step died and another took its run over (src/runs/takeOverRun.ts).
    attempt: p.integer().default(1),
    // Set when a step completes and its platform has enough previous successful scrapes (src/runs/volumeDrop.ts).
    expectedEvents: p.integer().nullable(),
    volumeDrop: p.boolean().nullable(),
    // The implausible-markets check of the step's odds (src/quality/implausibleMarkets.ts): complete markets
    // judged, how many were implausible, and the first few of them for the operator.
    marketsChecked: p.integer().default(0),
    implausibleMarkets: p.integer().default(0),
    implausibleExamples: p.json().columnType('jsonb').nullable(),
    // Bookmakers this step found frozen (src/quality/frozenBookmakers.ts); null before the check ran.
    frozenBookmakers: p.array().columnType('text[]').nullable(),
    // Each bookmaker's share of the matched sporting events it priced, and those far below their usual (src/quality/coverage.ts).
    coverage: p.json<Record<string, number>>().columnType('jsonb').nullable(),
    coverageDrops: p.array().columnType('text[]').nullable(),
    // Its prices far from the other bookmakers' consensus, counted right after its run (src/quality/outliers.ts).
    outlierPrices: p.integer().nullable(),
    // The replica that scraped the step (its owner id), set when the step starts.
    replica: p.string().columnType('text').nullable(),
  },
  uniques: [{ name: 'platform_steps_run_platform_unique', properties: ['run', 'platform'] }],
  checks: [{ name: 'platform_steps_reason_matches_status', expression: `reason IS NULL OR status = 'failed'` }],
  // A platform's last scrapes (GET /api/platforms/:name/history, last outcome per platform).
  indexes: [{ name: 'platform_steps_platform_finished_idx', properties: ['platform', 'finishedAt'] }],
});
export type PlatformStep = InferEntity<typeof PlatformStep>;

/**
 * A failed browser step's page at the moment of failure (db/tables/stepCaptures.ts): one per step at most,
 * bounded by PAGE_CAPTURE_LIMITS (the checks hold the byte bounds whatever writes the row), deleted with its
 * run's progress events by retention and beyond the latest PAGE_CAPTURE_LIMITS.perPlatform of its platform.
 */
export const StepCapture = defineEntity({
  name: 'StepCapture',
  tableName: 'step_captures',
  properties: {
    run: () => p.manyToOne(Run).primary().deleteRule('cascade'),
    platform: p.string().columnType('text').primary(),
    url: p.string().columnType('text'),
    screenshot: p.blob().columnType('bytea').nullable(),
    html: p.string().columnType('text'),
    htmlTruncated: p.boolean(),
    screenshotDropped: p.boolean(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  checks: [
    { name: 'step_captures_screenshot_bounded', expression: `octet_length(screenshot) <= ${PAGE_CAPTURE_LIMITS.screenshotBytes}` },
    { name: 'step_captures_html_bounded', expression: `octet_length(html) <= ${PAGE_CAPTURE_LIMITS.htmlBytes}` },
  ],
  // The per-platform cap: a platform's captures, newest first.
  indexes: [{ name: 'step_captures_platform_created_idx', properties: ['platform', 'createdAt'] }],
});
export type StepCapture = InferEntity<typeof StepCapture>;

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
 * Latest odds per (platform, its sporting event, market, selection, bookmaker), the primary key: upserted
 * by every run, never duplicated. (platform, event_key) first: the key serves the join from a listing.
 * The price and time of that bookmaker's previous scrape sit beside the current ones (movement), so the
 * table holds one row per price whatever the number of scrapes. Its pages are filled to half
 * (fillfactor 50, set by Migration20261126030000_odds_fillfactor: no entity option for it) so that a
 * run's rewrite of each row is a HOT update, touching no index.
 */
export const Odds = defineEntity({
  name: 'Odds',
  tableName: 'odds',
  properties: {
    platform: p.string().columnType('text').primary(),
    eventKey: p.string().columnType('text').primary(),
    market: p.string().columnType('text').primary(),
    selection: p.string().columnType('text').primary(),
    bookmaker: p.string().columnType('text').primary(),
    eventName: p.string().columnType('text'),
    price: p.decimal('number').precision(12).scale(4),
    /** The price as the platform wrote it ("7/5", "+140"). */
    priceText: p.string().columnType('text'),
    scrapedAt: p.datetime().columnType('timestamptz'),
    runId: p.bigint('number'),
    previousPrice: p.decimal('number').precision(12).scale(4).nullable(),
    previousScrapedAt: p.datetime().columnType('timestamptz').nullable(),
  },
  checks: [{ name: 'odds_price_above_one', expression: 'price > 1' }],
});
export type Odds = InferEntity<typeof Odds>;

/**
 * oddswatch's own sporting event: what the listings of several platforms are matched to (same participants,
 * start within the tolerance). `first_key`/`second_key` are its participants' keys (normalised, aliases
 * applied, in sorted order); null for one that cannot be matched (no participants or no start time).
 */
export const SportingEvent = defineEntity({
  name: 'SportingEvent',
  tableName: 'sporting_events',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    eventName: p.string().columnType('text'),
    firstKey: p.string().columnType('text').nullable(),
    secondKey: p.string().columnType('text').nullable(),
    /** Which participant is at home (the key of the listing that created it); a listing with them the other way round is `swapped`. */
    homeKey: p.string().columnType('text').nullable(),
    startsAt: p.datetime().columnType('timestamptz').nullable(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  indexes: [{ name: 'sporting_events_pair_idx', properties: ['firstKey', 'secondKey', 'startsAt'] }],
});
export type SportingEvent = InferEntity<typeof SportingEvent>;

/**
 * A platform's listing of a sporting event: its own id (event_key), name, participants and start time, and
 * the sporting event it is matched to. One row per (platform, event_key) that has odds, written by the same
 * statement as its odds and pruned with them; its name is the index of GET /api/odds's name search.
 * `first_key`/`second_key`: its participants' keys as normalised, before aliases (re-matched when one changes).
 */
export const EventListing = defineEntity({
  name: 'EventListing',
  tableName: 'event_listings',
  properties: {
    platform: p.string().columnType('text').primary(),
    eventKey: p.string().columnType('text').primary(),
    eventName: p.string().columnType('text'),
    home: p.string().columnType('text').nullable(),
    away: p.string().columnType('text').nullable(),
    startsAt: p.datetime().columnType('timestamptz').nullable(),
    firstKey: p.string().columnType('text').nullable(),
    secondKey: p.string().columnType('text').nullable(),
    sportingEventId: p.bigint('number'),
    /** The platform has home and away the other way round from its sporting event: its home/away selections are read swapped. */
    swapped: p.boolean().default(false),
  },
  indexes: [
    { name: 'event_listings_sporting_event_id_idx', properties: ['sportingEventId'] },
    // Name search (ILIKE '%q%') without a scan of every name; pg_trgm is created by the migration.
    { name: 'event_listings_event_name_trgm_idx', expression: `create index "event_listings_event_name_trgm_idx" on "event_listings" using gin ("event_name" gin_trgm_ops)` },
  ],
});
export type EventListing = InferEntity<typeof EventListing>;

/** A participant's other name, set by an operator: `alias` ("Man Utd") is matched as `canonical` ("Manchester United"). */
export const ParticipantAlias = defineEntity({
  name: 'ParticipantAlias',
  tableName: 'participant_aliases',
  properties: {
    aliasKey: p.string().columnType('text').primary(),
    alias: p.string().columnType('text'),
    canonical: p.string().columnType('text'),
    canonicalKey: p.string().columnType('text'),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
});
export type ParticipantAlias = InferEntity<typeof ParticipantAlias>;

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

/**
 * Each bookmaker's run of scrapes without a price change (src/quality/frozenBookmakers.ts): written by the
 * step that scraped it, whichever replica ran it; `frozen` is the last verdict.
 */
export const BookmakerQuality = defineEntity({
  name: 'BookmakerQuality',
  tableName: 'bookmaker_quality',
  properties: {
    platform: p.string().columnType('text').primary(),
    bookmaker: p.string().columnType('text').primary(),
    unchangedScrapes: p.integer().default(0),
    lastMovedAt: p.datetime().columnType('timestamptz').nullable(),
    frozen: p.boolean().default(false),
    updatedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
});
export type BookmakerQuality = InferEntity<typeof BookmakerQuality>;

/**
 * Which replica is scraping each platform now (`holder`, null when none) and when its last scrape ended
 * (src/runs/platformLocks.ts): one scrape per platform at a time across replicas, spaced across them.
 */
export const PlatformLock = defineEntity({
  name: 'PlatformLock',
  tableName: 'platform_locks',
  properties: {
    platform: p.string().columnType('text').primary(),
    holder: p.string().columnType('text').nullable(),
    takenAt: p.datetime().columnType('timestamptz').nullable(),
    releasedAt: p.datetime().columnType('timestamptz').nullable(),
  },
});
export type PlatformLock = InferEntity<typeof PlatformLock>;

export const entities = [Run, PlatformStep, StepCapture, RunEvent, Odds, SportingEvent, EventListing, ParticipantAlias, SchedulerJobSetting, ReplicaPresence, BookmakerQuality, PlatformLock];
