import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { isRefusedValue, pgErrorCode } from '../db/pgErrors.js';
import { PlatformError, type PageCapture, type PlatformAdapter, type ScrapedSelection, type ScrapeObserver } from '../platforms/adapter.js';
import { storedMessage } from '../platforms/storedValues.js';
import type { RejectedPriceReason, ScrapeOutcome, StepFailureReason, StreamEvent } from '../shared/contract.js';
import { recordFailure, tracer } from '../telemetry/tracing.js';
import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import type { Freshness } from '../liveState/freshness.js';
import type { BookmakerFreshness } from '../liveState/bookmakerFreshness.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { EventGuard, EventLog } from '../events/index.js';
import { retryWrite } from './databaseRetry.js';
import { ownershipLost } from './inFlightRuns.js';
import { keepPageCapture } from './keepPageCapture.js';
import { recordIfWithRetry, recordWithRetry } from './recordWithRetry.js';
import { OddsBuffer } from './oddsBuffer.js';
import type { RunTransitions } from './runTransitions.js';
import type { VolumeWatch } from './volumeDrop.js';
import type { MatchedBatch } from '../db/tables/odds.js';
import { matchedShare } from '../db/tables/eventListings.js';
import { judgeFrozen, recordFrozen } from '../db/tables/bookmakerQuality.js';
import type { FrozenBookmakers } from '../quality/frozenBookmakers.js';
import type { SportingEventMatcher } from '../odds/sportingEventMatcher.js';
import type { Config } from '../config.js';
import { checkMarkets, emptyMarketCheck, implausibleTotal, type MarketCheck } from '../quality/implausibleMarkets.js';

export interface ScrapePlatformDeps {
  orm: Orm;
  transitions: RunTransitions;
  events: EventLog;
  metrics: Metrics;
  freshness: Freshness;
  /** When each bookmaker's newest price was written (stale prices). */
  bookmakers: BookmakerFreshness;
  /** The frozen-prices verdicts this replica's gauge reports. */
  frozen: FrozenBookmakers;
  volume: VolumeWatch;
  matcher: SportingEventMatcher;
  logger: Logger;
  config: Pick<Config, 'qualityChecks' | 'qualityMaxOverround' | 'qualityFrozenScrapes'>;
  /** This replica's id (its runs' owner, its presence row): stored on each step it scrapes. */
  ownerId: string;
}

export interface PlatformResult {
  platform: string;
  outcome: ScrapeOutcome | 'not_started';
  eventsFound: number;
}

/** What a step's job knows of its run, for the one platform it scrapes (stepJob.ts). */
export interface RunProgress {
  runId: number;
  /** The run's span when its owner is this replica (its events go on it); otherwise the step span's parent is remote. */
  runSpan: Span | undefined;
  signal: AbortSignal;
  platformsTotal: number;
  /** Steps ended when this one was claimed (its events carry the run's count as the database has it). */
  platformsDone: number;
  /** The step's attempt: its job's delivery (a job whose replica died is delivered again). */
  attempt: number;
}

/** A platform records at most one platform.progress event per this interval (its first page always). */
export const PROGRESS_EVENT_INTERVAL_MS = 1_000;

/**
 * Scrapes one platform inside a `scrape.platform` span: step running -> completed/failed, odds collected
 * page by page and written in large batches (the last with the step's final write), progress events
 * persisted then published. A step already ended by someone else (the
 * watchdog, shutdown) is left as it is.
 */
export async function scrapePlatform(deps: ScrapePlatformDeps, adapter: PlatformAdapter, run: RunProgress): Promise<PlatformResult> {
  const platform = adapter.name;
  const { attempt } = run;
  const log = deps.logger.child({ run_id: run.runId, platform, ...(attempt > 1 ? { attempt } : {}) });
  // The step starts and platform.started is recorded in one statement, or neither when the run ended the step.
  const started =
    !run.signal.aborted &&
    (await recordIfWithRetry(
      deps,
      run.runId,
      'platform.started',
      { runId: run.runId, platform, eventsFound: 0, elapsedMs: 0, platformsDone: run.platformsDone, platformsTotal: run.platformsTotal, replica: deps.ownerId, attempt },
      { kind: 'step.started', platform, replica: deps.ownerId, attempt },
    ));
  if (!started) return { platform, outcome: 'not_started', eventsFound: 0 };
  return tracer.startActiveSpan(
    'scrape.platform',
    { attributes: { 'oddswatch.run.id': run.runId, 'oddswatch.platform': platform, 'oddswatch.platform.timeout_ms': adapter.timeoutMs, 'oddswatch.replica': deps.ownerId, 'oddswatch.step.attempt': attempt } },
    async (span) => {
      const startedAt = performance.now();
      const elapsedMs = () => Math.round(performance.now() - startedAt);
      let eventsFound = 0;
      let outcome: ScrapeOutcome = 'completed';
      let error: string | null = null;
      let reason: StepFailureReason | null = null;
      let capture: PageCapture | undefined;
      try {
        log.info('platform scrape started');
        const timeout = AbortSignal.timeout(adapter.timeoutMs);
        const signal = AbortSignal.any([run.signal, timeout]);
        const odds = new OddsBuffer();
        let progressRecordedAt = Number.NEGATIVE_INFINITY;
        const rejected = new Map<RejectedPriceReason, number>();
        // Every price the step writes is checked as it is written; the total goes with the step's final write.
        const markets = emptyMarketCheck();
        const bookmakers = new Set<string>();
        const matched = async (batch: ScrapedSelection[]) => {
          const result = await matchWithRetry(deps, run.runId, platform, batch);
          if (deps.config.qualityChecks) checkMarkets(result.odds, deps.config.qualityMaxOverround, markets);
          for (const row of result.odds) bookmakers.add(row.bookmaker);
          return result;
        };
        const observer: ScrapeObserver = {
          redirected(outcome) {
            deps.metrics.platformRedirected(platform, outcome);
            span.addEvent('feed.redirect', { outcome });
            if (outcome !== 'followed') log.warn({ outcome }, 'feed redirected to another origin');
          },
          rejectedPrice(reason) {
            deps.metrics.platformRejectedPrice(platform, reason);
            rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
          },
          quota(report) {
            deps.metrics.platformQuota(platform, report.remaining);
            span.setAttribute('oddswatch.platform.quota_remaining', report.remaining);
          },
        };
        try {
          eventsFound = await adapter.scrape(signal, async (progress) => {
            deps.metrics.platformEvents(platform, progress.eventsFound - eventsFound);
            eventsFound = progress.eventsFound;
            if (odds.add(progress.batch)) await writeProgress(deps, run.runId, platform, attempt, eventsFound, await matchedProgress(matched, odds.take()));
            span.addEvent('page.read', { events_found: eventsFound, odds: progress.batch.length });
            // Coalesced: the first page, then at most one per PROGRESS_EVENT_INTERVAL_MS; the final count comes with platform.completed/failed.
            if (performance.now() - progressRecordedAt < PROGRESS_EVENT_INTERVAL_MS) return;
            progressRecordedAt = performance.now();
            await recordWithRetry(deps, run.runId, 'platform.progress', {
              runId: run.runId,
              platform,
              eventsFound,
              elapsedMs: elapsedMs(),
              platformsDone: run.platformsDone,
              platformsTotal: run.platformsTotal,
              attempt,
            });
          }, observer);
        } catch (cause) {
          outcome = run.signal.aborted ? 'aborted' : timeout.aborted ? 'timeout' : 'failed';
          error =
            outcome === 'timeout'
              ? `timed out after ${adapter.timeoutMs} ms`
              : outcome === 'aborted'
                ? 'aborted: the run ended'
                : describeError(cause);
          reason = outcome === 'timeout' ? 'timeout' : outcome === 'aborted' ? null : failureReason(cause);
          if (outcome === 'failed' && adapter.kind === 'browser' && cause instanceof PlatformError) capture = cause.capture;
          recordFailure(span, cause, error);
        }

        const durationMs = elapsedMs();
        if (ownershipLost(run.signal)) {
          // Left running: its job is delivered again to another replica (this replica's writes are fenced off anyway).
          span.setAttributes({ 'oddswatch.platform.events_found': eventsFound, 'oddswatch.platform.outcome': 'aborted' });
          log.warn({ events_found: eventsFound, duration_ms: durationMs }, 'platform scrape stopped: this replica let go of the step; its job goes to another replica');
          return { platform, outcome: 'aborted' as const, eventsFound };
        }
        // Stored before the step ends, so its event can say so; bounded in time, and never the step's failure.
        const captured = capture !== undefined && (await keepPageCapture(deps.orm, run.runId, platform, capture, log, span));
        const stepStatus: 'completed' | 'failed' = outcome === 'completed' ? 'completed' : 'failed';
        // The step ends and its event is recorded in one statement, or neither when the run ended the step.
        // The event's platformsDone is the run's count as the final statement leaves it (eventPublisher.ts).
        const platformsDone = run.platformsDone + 1;
        const common = { runId: run.runId, platform, eventsFound, elapsedMs: durationMs, durationMs, platformsDone, platformsTotal: run.platformsTotal, attempt };
        const finish = (status: 'completed' | 'failed', odds: MatchedBatch) => {
          const step: EventGuard = {
            kind: 'step.finished',
            platform,
            replica: deps.ownerId,
            attempt,
            outcome: status,
            eventsFound,
            durationMs,
            error,
            reason,
            odds,
            judge: deps.volume.criteria,
            markets: { checked: markets.checked, implausible: implausibleTotal(markets), examples: markets.examples },
          };
          return status === 'completed'
            ? recordIfWithRetry(deps, run.runId, 'platform.completed', { ...common, implausibleMarkets: markets.checked > 0 ? implausibleTotal(markets) : null }, step)
            : recordIfWithRetry(deps, run.runId, 'platform.failed', { ...common, error: error ?? 'failed', reason, captured }, step);
        };
        let event: StreamEvent | undefined;
        try {
          event = await finish(stepStatus, await matched(odds.take()));
        } catch (cause) {
          // A value the database refused fails this platform alone; only an unreachable database goes up to the runner.
          if (!isRefusedValue(cause)) throw cause;
          outcome = 'failed';
          error = refusedValueMessage(cause);
          reason = 'refused_value';
          recordFailure(span, cause, error);
          event = await finish('failed', { odds: [], listings: [] });
        }
        deps.metrics.platformScraped(platform, outcome, durationMs / 1000, reason);
        const rejectedPrices = Object.fromEntries(rejected);
        const rejectedTotal = [...rejected.values()].reduce((sum, count) => sum + count, 0);
        span.setAttributes({ 'oddswatch.platform.events_found': eventsFound, 'oddswatch.platform.outcome': outcome, 'oddswatch.platform.rejected_prices': rejectedTotal });
        if (rejectedTotal > 0) log.warn({ rejected_prices: rejectedPrices }, 'platform sent prices that are no valid price (dropped)');
        if (event) {
          reportMarkets(deps, platform, markets, span, log);
          deps.bookmakers.wrote(platform, bookmakers);
        }
        if (reason) span.setAttribute('oddswatch.failure_reason', reason);
        if (outcome === 'completed') {
          span.setStatus({ code: SpanStatusCode.OK });
          deps.freshness.succeeded(platform);
          await reportMatchedShare(deps, platform, log);
          if (deps.config.qualityChecks) await judgeFrozenBookmakers(deps, run.runId, platform, span, log);
        }
        if (event) {
          run.runSpan?.addEvent(`platform.${stepStatus}`, { platform, events_found: eventsFound, duration_ms: durationMs });
          if (event.type === 'platform.completed') {
            const { volumeDrop = null, expectedEvents = null } = event.data;
            deps.volume.judged(run.runId, platform, eventsFound, { volumeDrop, expectedEvents });
            log.info({ events_found: eventsFound, duration_ms: durationMs }, 'platform scrape completed');
          } else {
            log.warn({ events_found: eventsFound, duration_ms: durationMs, outcome, reason, error }, 'platform scrape failed');
          }
        } else {
          // Whoever ended the run (cancel, connection guard, watchdog, shutdown) ended the step with it.
          log.info({ events_found: eventsFound, duration_ms: durationMs, outcome }, 'platform scrape stopped: its run had already ended');
        }
        return { platform, outcome, eventsFound };
      } finally {
        span.end();
      }
    },
  );
}

/** A full buffer of odds matched mid-scrape; a value the database refuses ends the scrape as this platform's failure. */
async function matchedProgress(match: (batch: ScrapedSelection[]) => Promise<MatchedBatch>, odds: ScrapedSelection[]): Promise<MatchedBatch> {
  try {
    return await match(odds);
  } catch (cause) {
    if (isRefusedValue(cause)) throw new PlatformError('refused_value', refusedValueMessage(cause));
    throw cause;
  }
}

/**
 * Writes a full buffer of odds mid-scrape. A value the database refuses ends the scrape as this platform's
 * failure (the adapter's scrape rejects with it); an unreachable database is the runner's to handle.
 */
async function writeProgress(deps: ScrapePlatformDeps, runId: number, platform: string, attempt: number, eventsFound: number, odds: MatchedBatch): Promise<void> {
  try {
    await deps.transitions.stepProgress(runId, platform, eventsFound, odds, deps.ownerId, attempt);
  } catch (cause) {
    if (isRefusedValue(cause)) throw new PlatformError('refused_value', refusedValueMessage(cause));
    throw cause;
  }
}

/** The step's implausible-markets check, once its final write landed: counters, span attributes and a warning with the examples. */
function reportMarkets(deps: ScrapePlatformDeps, platform: string, markets: MarketCheck, span: Span, log: Logger): void {
  const implausible = implausibleTotal(markets);
  deps.metrics.marketsChecked(platform, markets.checked, markets.implausible);
  span.setAttributes({ 'oddswatch.platform.markets_checked': markets.checked, 'oddswatch.platform.implausible_markets': implausible });
  if (implausible > 0) {
    log.warn({ markets_checked: markets.checked, implausible_markets: Object.fromEntries(markets.implausible), examples: markets.examples }, 'platform priced implausible markets');
  }
}

/** Matches a batch, repeated through a short database outage as the write after it is (only while it certainly did not happen). */
function matchWithRetry(deps: ScrapePlatformDeps, runId: number, platform: string, batch: ScrapedSelection[]): Promise<MatchedBatch> {
  return retryWrite(() => deps.matcher.match(platform, batch), {
    onRetry: (error, attempt) => deps.logger.warn({ run_id: runId, platform, err: error, attempt }, 'database unreachable; retrying the write'),
  });
}

/** The matched-share gauge after a successful scrape; a failed read only leaves the gauge at its last value. */
async function reportMatchedShare(deps: ScrapePlatformDeps, platform: string, log: Logger): Promise<void> {
  try {
    const share = await matchedShare(deps.orm, platform);
    if (share !== null) deps.metrics.platformMatched(platform, share);
  } catch (error) {
    log.warn({ err: error }, 'could not read the share of matched sporting events');
  }
}

/** The frozen-prices check of the bookmakers the step priced; a failed statement only leaves the verdicts as they were. */
async function judgeFrozenBookmakers(deps: ScrapePlatformDeps, runId: number, platform: string, span: Span, log: Logger): Promise<void> {
  try {
    const verdicts = await judgeFrozen(deps.orm, platform, runId, deps.config.qualityFrozenScrapes);
    await recordFrozen(deps.orm, platform, runId, verdicts);
    deps.frozen.judged(platform, verdicts);
    const frozen = verdicts.filter((verdict) => verdict.frozen).map((verdict) => verdict.bookmaker);
    span.setAttribute('oddswatch.platform.frozen_bookmakers', frozen);
    if (frozen.length > 0) log.warn({ frozen_bookmakers: frozen, scrapes: deps.config.qualityFrozenScrapes }, 'bookmaker prices frozen while other bookmakers moved');
  } catch (error) {
    log.warn({ err: error }, 'could not judge frozen bookmakers');
  }
}

/** The SQLSTATE only: PostgreSQL's message can quote the value, which may be huge or hold a secret. */
const refusedValueMessage = (cause: unknown) => `the database refused a value from this platform (SQLSTATE ${pgErrorCode(cause)}); its odds of this scrape were not all stored`;

/** The adapter classified its failure where it happened; anything it let through unclassified is a defect of ours. */
const failureReason = (cause: unknown): StepFailureReason => (cause instanceof PlatformError ? cause.reason : 'unexpected');

/** A short, client-safe description (fetch wraps network errors in "fetch failed" with the cause inside), storable as text and JSON. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return storedMessage(String(error));
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return storedMessage(`${error.message}${cause}`);
}
