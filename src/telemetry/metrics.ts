import type { Attributes, Counter, Meter, ObservableResult } from '@opentelemetry/api';
import { ACTIVE_RUN_STATUSES, IMPLAUSIBLE_MARKET_REASONS, type ImplausibleMarketReason, JOB_IDS, REDIRECT_OUTCOMES, REJECTED_PRICE_REASONS, type RejectedPriceReason, RUN_STATUSES, RUN_TRIGGERS, OBSERVED_TRIGGERS, PLATFORM_KINDS, type JobId, type PlatformKind, type RedirectOutcome, type RunStatus, type RunTrigger, type ScrapeOutcome, type StepFailureReason } from '../shared/contract.js';

/**
 * The service's metric catalogue (docs/metrics.md). The Prometheus exporter adds `_total` to counters and no unit
 * suffix, so instruments carry their unit in their name. Labels stay bounded: never a run id or error text.
 */

export const SSE_STREAMS = ['run', 'global'] as const;
export type SseStream = (typeof SSE_STREAMS)[number];
export const LIMIT_REASONS = ['sse_client', 'sse_total', 'unauthorized'] as const;
export type LimitReason = (typeof LIMIT_REASONS)[number];
export const SSE_DISCONNECT_REASONS = ['client_closed', 'slow', 'server_shutdown', 'run_finished'] as const;
export type SseDisconnectReason = (typeof SSE_DISCONNECT_REASONS)[number];

/**
 * Why a replica's browser was closed and started anew: `crash` (it died or disconnected), `pages` (recycled
 * after BROWSER_RECYCLE_PAGES pages), `memory` (recycled past BROWSER_MAX_MEMORY_MB), `unresponsive` (a page
 * it could not open or close in time: an overloaded or hung browser).
 */
export const BROWSER_RESTART_CAUSES = ['crash', 'pages', 'memory', 'unresponsive'] as const;
export type BrowserRestartCause = (typeof BROWSER_RESTART_CAUSES)[number];

/** What the gauges of a replica's browser read (platforms/browser/browserPool.ts). */
export interface BrowserStateSource {
  pagesOpen(): number;
  pagesQueued(): number;
  /** Memory (PSS) of the browser's process tree, from its last sample; null while no browser runs. */
  memoryBytes(): number | null;
}

/** The scrape pool's slots on this replica (runs/scrapePool.ts). */
export interface ScrapeSlotsSource {
  /** Scrapes running now. */
  slotsInUse(): number;
  /** Slots the autoscaled pool allows now (at most SCRAPE_CONCURRENCY). */
  slots(): number;
  /** Steps waiting for a slot (or for their platform's previous scrape). */
  stepsWaiting(): number;
}

/** The scrape pool's metrics; per replica, no platform label (a slot is any platform's). */
export interface ScrapePoolMetrics {
  /** A step of a platform of this kind got its slot after waiting this long. */
  slotWaited(kind: PlatformKind, seconds: number): void;
  /** A step waited for another replica's scrape of its platform; `taken_over`: that replica had died. */
  platformLockWaited(outcome: 'freed' | 'taken_over'): void;
  observeScrapeSlots(source: ScrapeSlotsSource): void;
  /** The step jobs queued and running across every replica, per kind of work (the same on every replica). */
  observeStepQueue(depth: () => Record<'http' | 'browser', { queued: number; active: number }>): void;
}

/** The browser pool's metrics (platforms/browser/browserPool.ts); no platform label: the browser is the replica's. */
export interface BrowserMetrics {
  /** `failed`: the step's work on the page threw (whatever the reason, the run's end included). */
  browserPageClosed(durationSeconds: number, outcome: 'completed' | 'failed'): void;
  browserRestarted(cause: BrowserRestartCause): void;
  observeBrowser(source: BrowserStateSource): void;
}

/** Bookmakers whose coverage is exported, at most: an aggregator's response names its bookmakers. */
const MAX_COVERAGE_SERIES = 500;
const RUN_DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800];
const PLATFORM_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
/** From "at once" (a free slot: well under 5 ms) to a step that waited for most of a run. */
const SLOT_WAIT_BUCKETS = [0.005, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Where observable gauges read the live state from, so they can never drift. */
export interface LiveStateSources {
  sseSubscribers(stream: SseStream): number;
  /** Active runs and the age of the oldest running one, read from the database at scrape time (last known values when it does not answer in time; never rejects). */
  runActivity(): Promise<{ active: number; oldestRunningAgeSeconds: number }>;
  /** Whether the database answered the last read (after runActivity). */
  databaseUp(): boolean;
  lastSuccessSeconds(): ReadonlyMap<string, number>;
  /** Sporting events found by each platform's last successful scrape. */
  lastScrapeEvents(): ReadonlyMap<string, number>;
  /** Each bookmaker's newest price written, by platform (unix seconds). */
  newestPrices(): Iterable<{ platform: string; bookmaker: string; seconds: number }>;
  /** Each bookmaker's last frozen-prices verdict, by platform (read from the database; never rejects). */
  frozenBookmakers(): Promise<Iterable<{ platform: string; bookmaker: string; frozen: boolean }>>;
  schedulerPaused(): boolean;
  /** The scrape job's current interval (SCRAPE_INTERVAL_SECONDS or the interval set through the API). */
  scrapeIntervalSeconds(): number;
  schedulerNextRunSeconds(job: JobId): number | null;
}

export interface Metrics extends BrowserMetrics, ScrapePoolMetrics {
  runFinished(trigger: RunTrigger, status: RunStatus, durationSeconds: number | null): void;
  connectionFailed(trigger: RunTrigger): void;
  staleRun(): void;
  runsRecovered(count: number): void;
  /** This replica took over a run whose replica died (runs/takeOverRun.ts). */
  runTakenOver(): void;
  /** A step of a run taken over is scraped again, as its next attempt. */
  stepRetried(kind: PlatformKind): void;
  /** `reason` (STEP_FAILURE_REASONS) becomes a label of the failed scrapes that have one. */
  platformScraped(platform: string, outcome: ScrapeOutcome, durationSeconds: number, reason?: StepFailureReason | null): void;
  platformEvents(platform: string, count: number): void;
  volumeDropped(platform: string): void;
  platformRedirected(platform: string, outcome: RedirectOutcome): void;
  platformRejectedPrice(platform: string, reason: RejectedPriceReason): void;
  /** A step's implausible-markets check: complete markets judged, and the implausible ones by reason. */
  marketsChecked(platform: string, checked: number, implausible: ReadonlyMap<ImplausibleMarketReason, number>): void;
  /** Outlier prices among those a step wrote. */
  outlierPrices(platform: string, count: number): void;
  /** A step's coverage: each bookmaker's share of the matched sporting events, and how many of them dropped. */
  coverageJudged(platform: string, shares: ReadonlyMap<string, number>, drops: number): void;
  /** The request quota a platform's API last reported (odds-api); this replica's last reading. */
  platformQuota(platform: string, remaining: number): void;
  /** The last platformQuota reading of `platform` on this replica; null: none (a kind without a quota, or not scraped yet). */
  quotaRemaining(platform: string): number | null;
  /** The share (0..1) of a platform's sporting events matched with another platform's, after its last matching. */
  platformMatched(platform: string, ratio: number): void;
  tickSkipped(job: JobId): void;
  sseDisconnected(stream: SseStream, reason: SseDisconnectReason): void;
  unauthorized(route: string): void;
  limited(reason: LimitReason): void;
  observe(sources: LiveStateSources): void;
}

export function createMetrics(meter: Meter, platforms: readonly string[]): Metrics {
  const counter = (name: string, description: string) => meter.createCounter(name, { description });
  const secondsHistogram = (name: string, description: string, buckets: number[]) =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: buckets } });
  const runs = counter('oddswatch_runs', 'Runs that reached a terminal status, by trigger and status.');
  const connectionFailures = counter('oddswatch_connection_failed', 'Observed runs that lost every watcher mid-run (status connection_failed).');
  const staleRuns = counter('oddswatch_stale_runs', 'Runs failed by the watchdog (failure_reason=stale).');
  const recovered = counter('oddswatch_runs_recovered', 'Runs left active by a dead process that no replica could take over (too old), failed with failure_reason=interrupted.');
  const takenOver = counter('oddswatch_runs_taken_over', 'Runs this replica took over from a replica that died mid-run (it scrapes their unfinished steps).');
  const stepsRetried = counter('oddswatch_steps_retried', 'Steps scraped again, as their next attempt, by the replica that took their run over, by platform kind.');
  const eventsScraped = counter('oddswatch_platform_events_scraped', 'Sporting events scraped, by platform.');
  const volumeDrops = counter('oddswatch_platform_volume_drops', 'Successful scrapes that found far fewer sporting events than their platform usually does.');
  const redirects = counter('oddswatch_platform_redirects', 'Redirects a platform answered, by how they were handled (followed, stripped of credentials, refused).');
  const rejectedPrices = counter('oddswatch_platform_rejected_prices', 'Prices a platform sent that are no valid price (dropped, never stored), by platform and reason.');
  const marketsChecked = counter('oddswatch_platform_markets_checked', 'Complete markets (match result, over/under at one line) of a bookmaker checked for plausible prices, by platform.');
  const implausibleMarkets = counter(
    'oddswatch_platform_implausible_markets',
    'Complete markets whose prices are implausible (overround below 1 or above QUALITY_MAX_OVERROUND, or a price outside [1.01, 1000]), by platform and reason.',
  );
  const outlierPrices = counter(
    'oddswatch_platform_outlier_prices',
    "Prices a platform's step wrote that lie further than QUALITY_OUTLIER_THRESHOLD from the median of at least 3 other bookmakers' prices for the selection, by platform.",
  );
  const coverageDrops = counter('oddswatch_platform_coverage_drops', "Completed steps in which a bookmaker priced far fewer of the matched sporting events than usual (QUALITY_COVERAGE_FRACTION of its median), by platform.");
  const ticksSkipped = counter('oddswatch_scheduler_ticks_skipped', 'Scheduled ticks skipped because a run was already active.');
  const disconnects = counter('oddswatch_sse_disconnects', 'SSE subscribers disconnected, by stream and reason.');
  const unauthorized = counter('oddswatch_http_unauthorized', 'Requests refused with 401 (missing or wrong operator token), by route pattern.');
  const limited = counter('oddswatch_http_limited', 'Requests refused with 429 by a limit, by reason (sse_client, sse_total, unauthorized).');
  const browserRestarts = counter('oddswatch_browser_restarts', "Times this replica's browser was closed and started anew, by cause (crash, pages, memory, unresponsive).");
  const browserPageDuration = secondsHistogram('oddswatch_browser_page_duration_seconds', 'Time a browser page was held by one step, from opening its context to closing it (queueing not included), by outcome (completed, failed).', PLATFORM_DURATION_BUCKETS);
  const slotWait = secondsHistogram('oddswatch_scrape_slot_wait_seconds', "Time a step waited on this replica for a scrape slot (and for its platform's previous scrape) before it started, by its platform's kind.", SLOT_WAIT_BUCKETS);
  const platformLockWaits = meter.createCounter('oddswatch_platform_lock_waits', {
    description: "Steps that waited for another replica's scrape of their platform before theirs (one scrape per platform at a time across replicas), by how the wait ended: freed, or taken_over from a replica that died.",
  });
  const runDuration = secondsHistogram('oddswatch_run_duration_seconds', 'Wall time of finished runs, from start to terminal status.', RUN_DURATION_BUCKETS);
  const platformDuration = secondsHistogram('oddswatch_platform_scrape_duration_seconds', 'Time to scrape one platform within a run, by outcome, and by reason (STEP_FAILURE_REASONS) when the step failed with one.', PLATFORM_DURATION_BUCKETS);

  // Every known label set exists at 0 from start-up: a series born at 1 hides the first failure from increase().
  const zero = (instrument: Counter, attributes: Attributes) => instrument.add(0, attributes);
  for (const trigger of RUN_TRIGGERS) {
    for (const status of RUN_STATUSES) {
      if ((ACTIVE_RUN_STATUSES as readonly string[]).includes(status)) continue;
      if (status === 'connection_failed' && !(OBSERVED_TRIGGERS as readonly string[]).includes(trigger)) continue;
      zero(runs, { trigger, status });
    }
  }
  for (const trigger of OBSERVED_TRIGGERS) zero(connectionFailures, { trigger });
  zero(staleRuns, {});
  zero(recovered, {});
  zero(takenOver, {});
  for (const kind of PLATFORM_KINDS) zero(stepsRetried, { kind });
  for (const outcome of ['freed', 'taken_over']) zero(platformLockWaits, { outcome });
  for (const platform of platforms) zero(eventsScraped, { platform });
  for (const platform of platforms) zero(volumeDrops, { platform });
  for (const platform of platforms) for (const outcome of REDIRECT_OUTCOMES) zero(redirects, { platform, outcome });
  for (const platform of platforms) for (const reason of REJECTED_PRICE_REASONS) zero(rejectedPrices, { platform, reason });
  for (const platform of platforms) zero(marketsChecked, { platform });
  for (const platform of platforms) for (const reason of IMPLAUSIBLE_MARKET_REASONS) zero(implausibleMarkets, { platform, reason });
  for (const platform of platforms) zero(outlierPrices, { platform });
  for (const platform of platforms) zero(coverageDrops, { platform });
  for (const job of JOB_IDS) zero(ticksSkipped, { scheduler_job: job });
  for (const stream of SSE_STREAMS) for (const reason of SSE_DISCONNECT_REASONS) zero(disconnects, { stream, reason });
  for (const reason of LIMIT_REASONS) zero(limited, { reason });
  for (const cause of BROWSER_RESTART_CAUSES) zero(browserRestarts, { cause });

  // Last readings, per platform, of this replica: the gauges below read them.
  const quotaRemaining = new Map<string, number>();
  /** Each bookmaker's last coverage, by `platform\u0000bookmaker` (at most MAX_COVERAGE_SERIES). */
  const coverage = new Map<string, { platform: string; bookmaker: string; share: number }>();
  const matchedRatio = new Map<string, number>();
  meter
    .createObservableGauge('oddswatch_platform_quota_remaining', {
      description: "Requests left in a platform's API quota, as its last response reported (odds-api: x-requests-remaining); absent for platforms without a quota.",
    })
    .addCallback((result) => {
      for (const [platform, remaining] of quotaRemaining) result.observe(remaining, { platform });
    });
  meter
    .createObservableGauge('oddswatch_bookmaker_coverage_ratio', {
      description: "Share (0..1) of the matched sporting events (listed by two platforms or more, upcoming) a bookmaker priced in its platform's last completed step on this replica.",
    })
    .addCallback((result) => {
      for (const { platform, bookmaker, share } of coverage.values()) result.observe(share, { platform, bookmaker });
    });
  meter
    .createObservableGauge('oddswatch_platform_matched_ratio', {
      description: "Share (0..1) of a platform's sporting events matched with another platform's, after its last scrape.",
    })
    .addCallback((result) => {
      for (const [platform, ratio] of matchedRatio) result.observe(ratio, { platform });
    });

  const observe = (sources: LiveStateSources) => {
    meter
      .createObservableGauge('oddswatch_sse_subscribers', { description: 'Open SSE subscriptions, by stream (run: one run; global: the dashboard stream).' })
      .addCallback((result: ObservableResult) => {
        for (const stream of SSE_STREAMS) result.observe(sources.sseSubscribers(stream), { stream });
      });
    const active = meter.createObservableGauge('oddswatch_runs_active', { description: 'Runs pending or running (at most one).' });
    const oldest = meter.createObservableGauge('oddswatch_run_oldest_running_age_seconds', {
      description: 'Age of the oldest running run; 0 when none runs.',
      unit: 's',
    });
    const databaseUp = meter.createObservableGauge('oddswatch_database_up', { description: '1 while the database answers within the metrics deadline, 0 while it is down or frozen.' });
    meter.addBatchObservableCallback(async (result) => {
      const activity = await sources.runActivity();
      result.observe(active, activity.active);
      result.observe(oldest, activity.oldestRunningAgeSeconds);
      result.observe(databaseUp, sources.databaseUp() ? 1 : 0);
    }, [active, oldest, databaseUp]);
    meter
      .createObservableGauge('oddswatch_platform_last_success_timestamp_seconds', {
        description: 'Unix time of the last successful scrape of each platform (freshness).',
        unit: 's',
      })
      .addCallback((result) => {
        for (const [platform, seconds] of sources.lastSuccessSeconds()) result.observe(seconds, { platform });
      });
    meter
      .createObservableGauge('oddswatch_bookmaker_frozen', {
        description: 'Whether a bookmaker\'s prices are frozen (1): unchanged in its last QUALITY_FROZEN_SCRAPES scrapes while another bookmaker\'s prices for the same sporting events moved.',
      })
      .addCallback(async (result) => {
        for (const { platform, bookmaker, frozen } of await sources.frozenBookmakers()) result.observe(frozen ? 1 : 0, { platform, bookmaker });
      });
    meter
      .createObservableGauge('oddswatch_bookmaker_last_price_timestamp_seconds', {
        description: "Unix time of the newest price written of each bookmaker, by platform (stale prices: the alert rules turn it into an age).",
        unit: 's',
      })
      .addCallback((result) => {
        for (const { platform, bookmaker, seconds } of sources.newestPrices()) result.observe(seconds, { platform, bookmaker });
      });
    meter
      .createObservableGauge('oddswatch_platform_events_last_scrape', { description: 'Sporting events found by the last successful scrape of each platform.' })
      .addCallback((result) => {
        for (const [platform, events] of sources.lastScrapeEvents()) result.observe(events, { platform });
      });
    meter
      .createObservableGauge('oddswatch_scheduler_paused', { description: '1 while the scrape schedule is paused by an operator.' })
      .addCallback((result) => result.observe(sources.schedulerPaused() ? 1 : 0));
    meter
      .createObservableGauge('oddswatch_scrape_interval_seconds', {
        description: 'Current interval of the scrape job (scrape_all_platforms), paused or not; the alert rules derive their thresholds from it.',
        unit: 's',
      })
      .addCallback((result) => result.observe(sources.scrapeIntervalSeconds()));
    meter
      .createObservableGauge('oddswatch_scheduler_next_run_timestamp_seconds', {
        description: 'Unix time of the next scheduled run of each job; absent while paused.',
        unit: 's',
      })
      .addCallback((result) => {
        for (const job of JOB_IDS) {
          const next = sources.schedulerNextRunSeconds(job);
          if (next !== null) result.observe(next, { scheduler_job: job });
        }
      });
  };

  return {
    runFinished(trigger, status, durationSeconds) {
      runs.add(1, { trigger, status });
      if (durationSeconds !== null) runDuration.record(durationSeconds, { trigger, status });
    },
    connectionFailed: (trigger) => connectionFailures.add(1, { trigger }),
    staleRun: () => staleRuns.add(1),
    runsRecovered: (count) => recovered.add(count),
    runTakenOver: () => takenOver.add(1),
    stepRetried: (kind) => stepsRetried.add(1, { kind }),
    platformScraped: (platform, outcome, seconds, reason) => platformDuration.record(seconds, reason ? { platform, outcome, reason } : { platform, outcome }),
    platformEvents: (platform, count) => eventsScraped.add(count, { platform }),
    volumeDropped: (platform) => volumeDrops.add(1, { platform }),
    platformRedirected: (platform, outcome) => redirects.add(1, { platform, outcome }),
    platformRejectedPrice: (platform, reason) => rejectedPrices.add(1, { platform, reason }),
    outlierPrices: (platform, count) => outlierPrices.add(count, { platform }),
    coverageJudged(platform, shares, drops) {
      for (const [bookmaker, share] of shares) {
        const key = `${platform}\u0000${bookmaker}`;
        if (coverage.has(key) || coverage.size < MAX_COVERAGE_SERIES) coverage.set(key, { platform, bookmaker, share });
      }
      coverageDrops.add(drops, { platform });
    },
    marketsChecked(platform, checked, implausible) {
      marketsChecked.add(checked, { platform });
      for (const [reason, count] of implausible) implausibleMarkets.add(count, { platform, reason });
    },
    platformQuota: (platform, remaining) => void quotaRemaining.set(platform, remaining),
    quotaRemaining: (platform) => quotaRemaining.get(platform) ?? null,
    platformMatched: (platform, ratio) => void matchedRatio.set(platform, ratio),
    tickSkipped: (job) => ticksSkipped.add(1, { scheduler_job: job }),
    sseDisconnected: (stream, reason) => disconnects.add(1, { stream, reason }),
    unauthorized: (route) => unauthorized.add(1, { route }),
    limited: (reason) => limited.add(1, { reason }),
    browserPageClosed: (seconds, outcome) => browserPageDuration.record(seconds, { outcome }),
    browserRestarted: (cause) => browserRestarts.add(1, { cause }),
    slotWaited: (kind, seconds) => slotWait.record(seconds, { kind }),
    platformLockWaited: (outcome) => platformLockWaits.add(1, { outcome }),
    observeScrapeSlots(source) {
      const inUse = meter.createObservableGauge('oddswatch_scrape_slots_in_use', { description: 'Scrapes running on this replica now.' });
      const slots = meter.createObservableGauge('oddswatch_scrape_slots', {
        description: 'Scrape slots the autoscaled pool allows on this replica now: grows while steps wait and the process is healthy, shrinks under event-loop delay or heap pressure, at most SCRAPE_CONCURRENCY.',
      });
      const waiting = meter.createObservableGauge('oddswatch_scrape_steps_waiting', { description: "Steps waiting on this replica for a scrape slot or for their platform's previous scrape." });
      meter.addBatchObservableCallback((result) => {
        result.observe(inUse, source.slotsInUse());
        result.observe(slots, source.slots());
        result.observe(waiting, source.stepsWaiting());
      }, [inUse, slots, waiting]);
    },
    observeStepQueue(depth) {
      meter
        .createObservableGauge('oddswatch_step_jobs', {
          description: 'Step jobs in the queue shared by every replica, by kind of work (http, browser) and state (queued: waiting for a replica with a free slot, or for its next delivery; active: taken by a replica). Every replica reports the same count, read every 5 s: aggregate with max.',
        })
        .addCallback((result) => {
          for (const [kind, counts] of Object.entries(depth())) {
            result.observe(counts.queued, { kind, state: 'queued' });
            result.observe(counts.active, { kind, state: 'active' });
          }
        });
    },
    observeBrowser(source) {
      const open = meter.createObservableGauge('oddswatch_browser_pages_open', { description: "Pages open in this replica's browser (at most BROWSER_MAX_PAGES)." });
      const queued = meter.createObservableGauge('oddswatch_browser_pages_queued', { description: 'Steps waiting for a browser page on this replica.' });
      const memory = meter.createObservableGauge('oddswatch_browser_memory_bytes', {
        description: "Memory of this replica's browser: the PSS of all its processes together (shared pages counted once); absent while none runs.",
        unit: 'By',
      });
      meter.addBatchObservableCallback((result) => {
        result.observe(open, source.pagesOpen());
        result.observe(queued, source.pagesQueued());
        const bytes = source.memoryBytes();
        if (bytes !== null) result.observe(memory, bytes);
      }, [open, queued, memory]);
    },
    observe,
  };
}
