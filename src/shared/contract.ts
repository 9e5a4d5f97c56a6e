/**
 * The wire contract of oddswatch: statuses, triggers, JSON shapes of the REST API and the SSE events.
 * Pure types and constants, shared by the service (src/) and the dashboard (dashboard/): no runtime imports.
 * Longer than our ~250-line norm on purpose: one file is the one place both sides read the contract from.
 */

export const RUN_STATUSES = ['pending', 'running', 'completed', 'partial', 'failed', 'connection_failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const ACTIVE_RUN_STATUSES = ['pending', 'running'] as const satisfies readonly RunStatus[];
/** `cancelled`: an operator stopped the run (POST /api/runs/:id/cancel); no failure reason, not counted against the run success SLO. */
export const TERMINAL_RUN_STATUSES = ['completed', 'partial', 'failed', 'connection_failed', 'cancelled'] as const satisfies readonly RunStatus[];
export type TerminalRunStatus = (typeof TERMINAL_RUN_STATUSES)[number];

export const RUN_TRIGGERS = ['scheduled', 'api', 'api-stream', 'retry'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
/** Runs that depend on a watcher: they become `connection_failed` when every watcher is gone. */
export const OBSERVED_TRIGGERS = ['api-stream', 'retry'] as const satisfies readonly RunTrigger[];

/**
 * Why a run ended badly.
 * - `all_platforms_failed`: status `failed`, every platform failed.
 * - `stale`: status `failed`, the watchdog saw no heartbeat or the run exceeded its maximum duration.
 * - `interrupted`: status `failed`, the process that owned it died or shut down mid-run.
 * - `connection_lost`: status `connection_failed`, every watcher of an observed run went away.
 */
export const FAILURE_REASONS = ['all_platforms_failed', 'stale', 'interrupted', 'connection_lost'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * Why a platform step failed (a step's `reason`; a run's is `failureReason`). A closed set, a metric label:
 * - `timeout`: the platform's timeout ran out (or the HTTP client's own connect/headers/body timeout).
 * - `network`: no answer to read: connection refused or reset, DNS, TLS, or a redirect refused.
 * - `http_4xx` / `http_5xx`: an HTTP error status not listed below.
 * - `rate_limited`: HTTP 429.
 * - `blocked`: HTTP 403, or an HTML challenge page where JSON was expected (an HTML body holding a
 *   challenge marker: captcha, cf-chl, challenge-platform, "Just a moment", "Attention Required").
 * - `quota_exhausted`: the platform's request quota is used up; set by kinds that know a quota (not `feed`).
 * - `parse`: invalid JSON, a response that does not have the expected shape, a mapping that yields nothing
 *   from a non-empty response.
 * - `too_large`: the response is larger than the platform's size limit.
 * - `refused_value`: the database refused a value the platform sent (its SQLSTATE is in the step's error).
 * - `forbidden_address`: the platform's host resolves to an address oddswatch may not reach (link-local,
 *   cloud metadata) and the operator has not allowed it (ALLOW_PLATFORM_ADDRESSES).
 * - `layout`: a `browser` platform's page never showed what the entry waits for (a selector, a captured
 *   response): the page's layout or its API changed. The step keeps a screenshot and the rendered HTML.
 * - `browser`: the browser crashed, could not start (no Chromium: CHROMIUM_PATH), or was restarted under the step.
 * - `interrupted`: the replica scraping the step died at each of its attempts (STEP_ATTEMPTS; no replica with the
 *   platform configured took it, counts as one), or its job ended without it.
 * - `unexpected`: an error no adapter classified (a defect of oddswatch's, not the platform's: look at the log).
 * Null on a step that did not fail, and on one its run stopped (outcome `aborted`): not the platform's doing.
 */
export const STEP_FAILURE_REASONS = ['timeout', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'blocked', 'quota_exhausted', 'parse', 'too_large', 'refused_value', 'forbidden_address', 'layout', 'browser', 'interrupted', 'unexpected'] as const;
export type StepFailureReason = (typeof STEP_FAILURE_REASONS)[number];

export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Per platform of a run. `skipped`: never started because the run ended first (connection lost, stale, interrupted, cancelled). */
export interface PlatformStep {
  platform: string;
  status: StepStatus;
  eventsFound: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  /** Why the step failed (STEP_FAILURE_REASONS); null unless the platform failed it. */
  reason: StepFailureReason | null;
  /**
   * A completed step that found fewer sporting events than VOLUME_DROP_FRACTION of its platform's usual
   * (a silent feed). Null when not judged: not completed, or fewer than 3 previous successful scrapes.
   */
  volumeDrop: boolean | null;
  /** Its platform's usual: the median sporting events of its previous successful scrapes (null: not judged). */
  expectedEvents: number | null;
  /** Complete markets whose prices are implausible (IMPLAUSIBLE_MARKET_REASONS); null when the step wrote no complete market. */
  implausibleMarkets: number | null;
  /** The first few of them, for the operator. */
  implausibleExamples: ImplausibleMarketExample[];
  /**
   * Bookmakers whose prices this step found frozen (unchanged in QUALITY_FROZEN_SCRAPES scrapes in a row
   * while other bookmakers' moved); null when not judged (not completed, or before the check existed).
   */
  frozenBookmakers: string[] | null;
  /**
   * Bookmakers whose share of the matched sporting events this step fell below QUALITY_COVERAGE_FRACTION of
   * their usual; null when not judged.
   */
  coverageDrops: string[] | null;
  /**
   * Its prices further than QUALITY_OUTLIER_THRESHOLD from the consensus of the other bookmakers, counted
   * right after the run (so null in `run.finished`); null when not counted.
   */
  outlierPrices: number | null;
  /** The replica that took its job (and scrapes or scraped it): its id, the `owner_id` of its logs and the `service.instance.id` of its spans and metrics; null until one took it. */
  replica: string | null;
  /**
   * 1, then one more each time the replica holding its job died and the job was delivered again (at most
   * STEP_ATTEMPTS; `replica` is the last attempt's).
   */
  attempt: number;
  /**
   * The page at failure is stored (a failed `browser` step whose page could still be read): GET
   * /api/runs/:id/steps/:platform/capture. False once retention or the per-platform cap deleted it.
   */
  captured: boolean;
}

export interface RunSummary {
  id: number;
  status: RunStatus;
  trigger: RunTrigger;
  failureReason: FailureReason | null;
  /** The run this one retries (trigger `retry`). */
  retryOf: number | null;
  /** The `retry` run started for this one, if any (a run is retried at most once). */
  retriedBy: number | null;
  platforms: string[];
  platformsTotal: number;
  /** Platforms finished, successfully or not. */
  platformsDone: number;
  platformsSucceeded: number;
  platformsFailed: number;
  eventsFound: number;
  /**
   * The platforms whose step failed, in the run's platform order: at most FAILED_PLATFORMS_LISTED names
   * (`platformsFailed` counts them all).
   */
  failedPlatforms: string[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
  durationMs: number | null;
  traceId: string | null;
  /**
   * Where to open the run's trace: `TRACE_URL_TEMPLATE` with the trace id filled in (Tempo in Grafana),
   * else, when this service exports no traces, the dashboard's own trace view `/traces/<traceId>`
   * (a path on this service, see TraceDetail); null without a trace id.
   */
  traceUrl: string | null;
}

/** How many failed platforms a run summary names (RunSummary.failedPlatforms). */
export const FAILED_PLATFORMS_LISTED = 10;

export interface RunDetail extends RunSummary {
  steps: PlatformStep[];
}

export interface RunPage {
  items: RunSummary[];
  /** Opaque; pass as `cursor` for the next (older) page. Null on the last page. */
  nextCursor: string | null;
}

export interface PlatformInfo extends PlatformHealth {
  name: string;
  kind: PlatformKind;
  baseUrl: string;
  timeoutMs: number;
  lastOutcome: 'completed' | 'failed' | null;
  lastRunId: number | null;
  lastFinishedAt: string | null;
  lastSuccessAt: string | null;
  lastEventsFound: number | null;
  /** Requests left in the platform's API quota as its last response on this replica reported it; null: no quota (every kind but odds-api), or none reported yet. */
  quotaRemaining: number | null;
  /** Its data quality at a glance; null when QUALITY_CHECKS is off. */
  quality: PlatformQuality | null;
}

/** A platform's data quality at a glance (GET /api/platforms): its last completed step's checks and its bookmakers' prices. */
export interface PlatformQuality {
  /** The run of its last completed step, where the counts below come from; null: no completed step yet (the counts are null too). */
  runId: number | null;
  /** Complete markets that step checked, and how many were implausible (null: it wrote no complete market). */
  marketsChecked: number | null;
  implausibleMarkets: number | null;
  /** Its prices far from the other bookmakers' consensus (null: not counted yet). */
  outlierPrices: number | null;
  /** Bookmakers whose coverage dropped in that step (null: not judged yet). */
  coverageDrops: string[] | null;
  /** Its bookmakers: frozen first, then the oldest newest price; at most PLATFORM_QUALITY_BOOKMAKERS. */
  bookmakers: BookmakerQuality[];
  /** All its bookmakers (`bookmakers` may list fewer). */
  bookmakersTotal: number;
}

/** How many bookmakers a platform's quality at a glance lists. */
export const PLATFORM_QUALITY_BOOKMAKERS = 50;

export interface BookmakerQuality {
  bookmaker: string;
  /** When a step last wrote this bookmaker's prices on the platform. */
  lastPriceAt: string;
  /**
   * Its newest price is older than STALE_AFTER_INTERVALS scrape intervals while its platform is fresh: the
   * platform answers, no longer with this bookmaker's prices (the rule of the OddswatchStalePrices alert).
   */
  stale: boolean;
  /** Its last frozen verdict (unchanged prices for QUALITY_FROZEN_SCRAPES scrapes while others moved). */
  frozen: boolean;
}

export const JOB_IDS = ['scrape_all_platforms', 'detect_stale_runs', 'prune_run_events'] as const;
export type JobId = (typeof JOB_IDS)[number];
export const SCRAPE_JOB_ID: JobId = 'scrape_all_platforms';
export const WATCHDOG_JOB_ID: JobId = 'detect_stale_runs';
export const RETENTION_JOB_ID: JobId = 'prune_run_events';
/** What a job's interval may be set to (PATCH /api/scheduler/jobs/:id, SCRAPE_INTERVAL_SECONDS, the dashboard's form). */
export const JOB_INTERVAL_SECONDS = { min: 10, max: 86_400 } as const;

export interface SchedulerJob {
  id: JobId;
  description: string;
  intervalSeconds: number;
  nextRunAt: string | null;
  lastRunAt: string | null;
  /** Only the scrape job can be paused; the watchdog always runs. */
  paused: boolean;
}

export interface SchedulerState {
  /** True when the scrape job is paused. */
  paused: boolean;
  jobs: SchedulerJob[];
}

export interface MetaInfo {
  version: string;
  /** True when mutating routes need `Authorization: Bearer <OPERATOR_TOKEN>`. */
  authRequired: boolean;
  platforms: string[];
  connectionGraceMs: number;
  /**
   * TRACE_URL_TEMPLATE (`{traceId}` to fill in): where the traces are kept when they are exported (Tempo in
   * Grafana); null when not configured. The trace view links there for a trace the service no longer holds.
   */
  traceUrlTemplate: string | null;
}

/** Every `error.code` the service answers with: the server answers only these, the dashboard reads only these. */
export const ERROR_CODES = [
  'already_retried',
  'bad_request',
  'cross_site_request',
  'database_unavailable',
  'headers_too_large',
  'internal',
  'invalid_cursor',
  'invalid_json',
  'invalid_request',
  'method_not_allowed',
  'not_found',
  'not_owning_runs',
  'not_retryable',
  'payload_too_large',
  'platform_busy',
  'request_timeout',
  'run_active',
  'run_finished',
  'shutting_down',
  'too_many_failures',
  'too_many_streams',
  'trace_not_found',
  'unauthorized',
  'unknown_host',
  'unknown_platform',
  'unsupported_media_type',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export const EVENT_TYPES = [
  'run.created',
  'run.started',
  'platform.started',
  'platform.progress',
  'platform.completed',
  'platform.failed',
  'run.finished',
  'scheduler.changed',
  'resync',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

interface RunScoped {
  runId: number;
  platformsDone: number;
  platformsTotal: number;
}
interface PlatformScoped extends RunScoped {
  platform: string;
  eventsFound: number;
  /** Since the platform started. */
  elapsedMs: number;
  /** The step's attempt this event belongs to (PlatformStep.attempt); absent from events recorded before attempts existed. */
  attempt?: number;
}

export interface EventPayloads {
  /** Carries the new run with its (pending) platform steps. */
  'run.created': RunScoped & { run: RunDetail };
  'run.started': RunScoped & { run: RunSummary };
  /** `replica`: the replica scraping it (PlatformStep.replica). */
  'platform.started': PlatformScoped & { replica?: string };
  'platform.progress': PlatformScoped;
  /**
   * `volumeDrop`/`expectedEvents` as stored on the step, `implausibleMarkets` as PlatformStep's (each absent
   * from events recorded before its check existed).
   */
  'platform.completed': PlatformScoped & { durationMs: number; volumeDrop?: boolean | null; expectedEvents?: number | null; implausibleMarkets?: number | null };
  /**
   * `reason` absent from events recorded before steps had one; null when the run stopped the step. `captured`:
   * the page at failure was stored (PlatformStep.captured); absent from events recorded before captures existed.
   */
  'platform.failed': PlatformScoped & { durationMs: number; error: string; reason?: StepFailureReason | null; captured?: boolean };
  /** Carries the run with its final platform steps, so a client needs no refetch. */
  'run.finished': RunScoped & { run: RunDetail; status: TerminalRunStatus; failureReason: FailureReason | null };
  'scheduler.changed': { scheduler: SchedulerState };
  resync: { reason: 'cursor_too_old' | 'cursor_unknown' };
}

/**
 * One event as sent in an SSE `data:` line (JSON). On `/api/runs/:id/events` the SSE `id:` is `seq`;
 * on `/api/events` it is `id` (a global sequence). `resync` carries, as its id, the latest global id at
 * that moment (so a client's next reconnect resumes from there instead of asking again); no seq.
 */
export type StreamEvent = {
  [T in EventType]: {
    id: number;
    seq: number | null;
    runId: number | null;
    type: T;
    at: string;
    data: EventPayloads[T];
  };
}[EventType];

/** How a bookmaker's price moved since its previous scrape of the selection; `new` when there was none. */
export const PRICE_MOVEMENTS = ['up', 'down', 'unchanged', 'new'] as const;
export type PriceMovement = (typeof PRICE_MOVEMENTS)[number];

/** One bookmaker's latest price for a selection (GET /api/odds). */
export interface BookmakerPrice {
  /** Who offers the price. */
  bookmaker: string;
  /** The platform it was scraped from (the bookmaker itself for every kind but odds-api). */
  platform: string;
  /** Decimal, rounded to 4 places. */
  price: number;
  /** The price as the platform wrote it ("7/5", "+140", "2.40"). */
  priceText: string;
  /** No configured bookmaker offers more for this selection (ties are all best). */
  best: boolean;
  scrapedAt: string;
  runId: number;
  movement: PriceMovement;
  previousPrice: number | null;
  previousScrapedAt: string | null;
  /** The median of the other bookmakers' prices for this selection; null with fewer than 3 of them. */
  consensus: number | null;
  /** Further than QUALITY_OUTLIER_THRESHOLD (25%) from `consensus`: a data error or a real opportunity. */
  outlier: boolean;
}

export interface OddsSelection {
  /** Canonical: `home`/`draw`/`away` for a match result, `over 2.5` for totals, `home -1.5` for spreads. */
  name: string;
  /** The highest price of every configured bookmaker, also when a filter narrows `prices`. */
  bestPrice: number;
  prices: BookmakerPrice[];
}

export interface OddsMarket {
  /** Canonical: `match_result`, `totals`, `spreads`; any other as the platform names it, lower case. */
  name: string;
  selections: OddsSelection[];
}

/** How one platform lists a sporting event: its own id and name. */
export interface EventListingInfo {
  platform: string;
  eventKey: string;
  eventName: string;
}

/**
 * A sporting event (oddswatch's own, matched across platforms) with its markets, selections and bookmaker prices.
 * One listed by a single platform is a sporting event of its own until another platform's listing matches it.
 */
export interface SportingEventOdds {
  /** oddswatch's id, stable while its listings keep their participants and start time. */
  id: number;
  eventName: string;
  startsAt: string | null;
  listings: EventListingInfo[];
  markets: OddsMarket[];
}

/**
 * Stale (the glossary's one definition, used by GET /api/odds, the dashboard and the alert rules): a platform whose
 * last successful scrape is older than STALE_AFTER_INTERVALS scrape intervals. Two scheduled scrapes in a row
 * failed and the third has had as long as the last good one took: one failed scrape (routine) never makes a
 * platform stale, two in a row do. A platform that never had a successful scrape is not stale but "never
 * scraped" (no timestamp to age). A price is never stale: it has an age (`scrapedAt`), and a failed scrape
 * can still have written fresh prices.
 */
export const STALE_AFTER_INTERVALS = 3;

/** How fresh one bookmaker is (GET /api/odds). */
export interface BookmakerFreshness {
  platform: string;
  /** When its last successful scrape finished; null: none ever. */
  lastSuccessAt: string | null;
  /** No successful scrape for longer than `staleAfterSeconds`, at the time of the response. */
  stale: boolean;
  /** When it is (or became) stale unless a scrape succeeds first: `lastSuccessAt` + `staleAfterSeconds`; null without a success. */
  staleAt: string | null;
}

export interface OddsPage {
  /** Sporting events in `id` order. */
  items: SportingEventOdds[];
  /** Opaque page token for the next page; null on the last page. */
  nextCursor: string | null;
  /** The bookmakers this page covers (every configured one; only `platform` when it filters), in configuration order. */
  bookmakers: BookmakerFreshness[];
  /** The scrape job's interval when the page was read (it can change at run time). */
  scrapeIntervalSeconds: number;
  /** STALE_AFTER_INTERVALS x `scrapeIntervalSeconds`. */
  staleAfterSeconds: number;
  /** QUALITY_OUTLIER_THRESHOLD: a price further than this share from its consensus is an `outlier`. */
  outlierThreshold: number;
  /** Bookmakers of the covered platforms whose prices are frozen, as their platform's last completed step judged. */
  frozenBookmakers: { platform: string; bookmaker: string }[];
}

/**
 * Bounds of what a failed `browser` step keeps of its page (StepCapture), enforced where it is stored whatever
 * the adapter sent: a larger screenshot is not kept (`screenshotDropped`), the HTML is cut (`htmlTruncated`).
 * Storing a platform's capture deletes its captures beyond the latest `perPlatform`; retention deletes them
 * with their run's progress events.
 */
export const PAGE_CAPTURE_LIMITS = {
  /** A PNG of the viewport, at most this many bytes. */
  screenshotBytes: 512 * 1024,
  /** The rendered HTML, at most this many bytes of UTF-8. */
  htmlBytes: 256 * 1024,
  /** The page's URL (redacted), at most this many characters. */
  urlChars: 2_048,
  /** Captures kept per platform, the latest. */
  perPlatform: 20,
} as const;

/**
 * A failed `browser` step's page at the moment of failure (GET /api/runs/:id/steps/:platform/capture), for
 * the operator to read what changed. The HTML is text to read, never to render: scripts and all, the page's.
 */
export interface StepCapture {
  runId: number;
  platform: string;
  /** Where the page was, credentials masked. */
  url: string;
  /** The rendered DOM, the entry's secrets masked, at most PAGE_CAPTURE_LIMITS.htmlBytes. */
  html: string;
  /** `html` was cut at PAGE_CAPTURE_LIMITS.htmlBytes. */
  htmlTruncated: boolean;
  /** The PNG of the viewport (GET …/capture/screenshot); null when there is none: not drawn, or dropped. */
  screenshotUrl: string | null;
  /** The screenshot was larger than PAGE_CAPTURE_LIMITS.screenshotBytes (or no PNG) and was not kept. */
  screenshotDropped: boolean;
  capturedAt: string;
}

/** A platform step's outcome: `timeout` and `aborted` are failed steps told apart by what the step recorded. */
export const SCRAPE_OUTCOMES = ['completed', 'failed', 'timeout', 'aborted'] as const;
export type ScrapeOutcome = (typeof SCRAPE_OUTCOMES)[number];

/**
 * How a platform's redirect was handled: `followed` with the credentials (same origin, or one the platform
 * trusts), `stripped` (followed to another origin without any configured header or userinfo), `refused`
 * (a downgrade from https to http, a scheme other than http(s), an invalid Location, or one hop too many).
 */
/**
 * What a platform is (PLATFORMS_FILE `kind`): `feed` (oddswatch's own `{ page, totalPages, events }` shape,
 * the default), `odds-api` (The Odds API v4: many bookmakers per platform), `json` (a bookmaker's own JSON,
 * mapped with JSONata), `html` (server-rendered pages, read with CSS selectors), `browser` (pages that render
 * only in a browser: Chromium, its JSON responses captured or its rendered DOM read).
 */
export const PLATFORM_KINDS = ['feed', 'odds-api', 'json', 'html', 'browser'] as const;
export type PlatformKind = (typeof PLATFORM_KINDS)[number];

/**
 * Why a price a platform sent was dropped (`oddswatch_platform_rejected_prices_total{reason}`):
 * `empty` (no price text), `malformed` (no decimal, fractional or American price), `not_above_one`
 * (1.0 or less as decimal: no payout), `too_high` (MAX_PRICE or more: no bookmaker offers it).
 */
export const REJECTED_PRICE_REASONS = ['empty', 'malformed', 'not_above_one', 'too_high'] as const;
export type RejectedPriceReason = (typeof REJECTED_PRICE_REASONS)[number];

/**
 * Why a complete market a bookmaker priced is implausible (`oddswatch_platform_implausible_markets_total{reason}`):
 * `overround_below_one` (1/price summed over its outcomes is under 1: a sure profit no bookmaker offers),
 * `overround_above_bound` (over QUALITY_MAX_OVERROUND: more margin than any bookmaker takes),
 * `price_out_of_range` (a price outside [1.01, 1000]).
 */
export const IMPLAUSIBLE_MARKET_REASONS = ['overround_below_one', 'overround_above_bound', 'price_out_of_range'] as const;
export type ImplausibleMarketReason = (typeof IMPLAUSIBLE_MARKET_REASONS)[number];

/** One implausible market, kept with its step for the operator (at most 5 a step). */
export interface ImplausibleMarketExample {
  reason: ImplausibleMarketReason;
  eventName: string;
  bookmaker: string;
  /** `match_result`, or `totals 2.5` with its line. */
  market: string;
  /** Each outcome's price as stored (`home`, `draw`, `away`; `over`, `under`). */
  prices: Record<string, number>;
  overround: number;
}

export const REDIRECT_OUTCOMES = ['followed', 'stripped', 'refused'] as const;
export type RedirectOutcome = (typeof REDIRECT_OUTCOMES)[number];

/** One finished scrape of a platform (one platform step). */
export interface PlatformScrape {
  runId: number;
  startedAt: string | null;
  finishedAt: string;
  durationMs: number | null;
  eventsFound: number;
  outcome: ScrapeOutcome;
  hasError: boolean;
  /** The step's error (stored redacted, at most 300 characters); null when it completed. */
  error: string | null;
  /** Why it failed (PlatformStep.reason); null when it completed or its run stopped it. */
  reason: StepFailureReason | null;
  /** The silent-feed flag (see PlatformStep.volumeDrop); null when the scrape was not judged. */
  volumeDrop: boolean | null;
}

/** How many of a platform's last finished scrapes its failure rate looks at (PlatformHealth). */
export const FAILURE_RATE_WINDOW = 20;

/** A platform's most recent failed scrape and why (the step's error, stored redacted and at most 300 characters). */
export interface PlatformError {
  message: string;
  /** When the step failed (its finishedAt). */
  at: string;
  runId: number;
  outcome: ScrapeOutcome;
  /** Why it failed (PlatformStep.reason); null when its run stopped it. */
  reason: StepFailureReason | null;
}

/** Which bookmaker is failing and why: on GET /api/platforms (each item) and GET /api/platforms/:name/history. */
export interface PlatformHealth {
  /** Outcomes of the platform's last finished scrapes, oldest first: at most FAILURE_RATE_WINDOW. */
  recentOutcomes: ScrapeOutcome[];
  /** How many of `recentOutcomes` are not `completed` (failed, timed out or aborted). */
  recentFailures: number;
  /** recentFailures / recentOutcomes.length (0..1); null before the platform's first finished scrape. */
  failureRate: number | null;
  /** The platform's last failed scrape, however long ago (null: it never failed). */
  lastError: PlatformError | null;
}

/** GET /api/platforms/:name/history: the last finished scrapes, oldest first (ready to draw), and the platform's health. */
export interface PlatformHistory extends PlatformHealth {
  platform: string;
  items: PlatformScrape[];
}

/** One finished run on the runs trend (GET /api/runs/history). */
export interface RunHistoryPoint {
  id: number;
  status: TerminalRunStatus;
  trigger: RunTrigger;
  failureReason: FailureReason | null;
  startedAt: string | null;
  finishedAt: string;
  durationMs: number | null;
}

/** The last finished runs, oldest first. */
export interface RunHistory {
  items: RunHistoryPoint[];
}

export const SPAN_KINDS = ['internal', 'server', 'client', 'producer', 'consumer'] as const;
export type SpanKind = (typeof SPAN_KINDS)[number];

/** One finished span of a trace held by the service (GET /api/traces/:traceId). */
export interface TraceSpan {
  spanId: string;
  /** Null for the trace's root (a run's `scrape.run`), or when the parent was not recorded here. */
  parentSpanId: string | null;
  name: string;
  kind: SpanKind;
  startedAt: string;
  /** From the start of the trace's earliest span. */
  offsetMs: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string | null;
  /** Primitive attributes; strings longer than 500 characters are cut. */
  attributes: Record<string, string | number | boolean>;
  /** Span events (e.g. `page.read`, `platform.completed`), offsets from the trace start. */
  events: { name: string; offsetMs: number }[];
}

/**
 * The spans of one run trace as the process that ran it recorded them: held in memory for its last
 * runs when no trace exporter is configured, so `npm start` alone gives every run a trace to open.
 */
export interface TraceDetail {
  traceId: string;
  /** The run this trace belongs to (its `oddswatch.run.id` attribute), when known. */
  runId: number | null;
  /** In the order the spans started. */
  spans: TraceSpan[];
}

/** One selection of a preview, as a scrape would store it (POST /api/platforms/preview). */
export interface PlatformPreviewSelection {
  eventKey: string;
  eventName: string;
  home: string | null;
  away: string | null;
  startsAt: string | null;
  market: string;
  selection: string;
  /** Decimal, as stored. */
  price: number;
  /** As the platform wrote it. */
  priceText: string;
  bookmaker: string;
}

/** How many selections a preview lists (PlatformPreview.selections); `selectionsFound` counts them all. */
export const PREVIEW_SELECTIONS_LISTED = 50;

/**
 * POST /api/platforms/preview: the first page of a PLATFORMS_FILE entry, scraped as a run would scrape it,
 * nothing stored. `ok: false` with the step's `reason` and `error` when the platform failed; what the page
 * gave before the failure is still counted.
 */
export interface PlatformPreview {
  ok: boolean;
  kind: PlatformKind;
  reason: StepFailureReason | null;
  error: string | null;
  eventsFound: number;
  selectionsFound: number;
  /** The first PREVIEW_SELECTIONS_LISTED selections, in the platform's order. */
  selections: PlatformPreviewSelection[];
  /** Every bookmaker offering a price, in order of first appearance (the platform itself but for odds-api). */
  bookmakers: string[];
  /** Prices dropped as no valid price, by reason (only reasons that occurred). */
  rejectedPrices: Partial<Record<RejectedPriceReason, number>>;
  /** The platform's request quota as this request left it (odds-api); null for kinds without one. */
  quota: { remaining: number; used: number | null } | null;
  /** What matching the selections against the stored sporting events counted as already known; null when the service does not compute it. */
  matchedExisting: number | null;
}

/** A participant alias (GET/PUT /api/aliases): `alias` is matched as `canonical`; the keys are their normalised forms. */
export interface ParticipantAliasInfo {
  alias: string;
  canonical: string;
  aliasKey: string;
  canonicalKey: string;
  createdAt: string;
}
