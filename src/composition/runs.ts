import type { Logger } from 'pino';
import { createSportingEventMatcher, type SportingEventMatcher } from '../odds/sportingEventMatcher.js';
import type { Config } from '../config.js';
import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { AppError } from '../errors.js';
import { EventLog, type ProgressBus } from '../events/index.js';
import { Freshness } from '../liveState/freshness.js';
import { BookmakerFreshness } from '../liveState/bookmakerFreshness.js';
import { FrozenBookmakers } from '../quality/frozenBookmakers.js';
import { lastSuccessfulSteps } from '../liveState/lastSuccessfulSteps.js';
import { pruneOdds } from '../odds/pruneOdds.js';
import type { Platforms } from '../platforms/registry.js';
import type { OwnerLiveness } from '../replicas/ownerLiveness.js';
import type { ReplicaPresence } from '../replicas/presence.js';
import { ConnectionGuard } from '../runs/connectionGuard.js';
import { detectStaleRuns, type DetectStaleRunsDeps } from '../runs/detectStaleRuns.js';
import { finishRun } from '../runs/finishRun.js';
import { InFlightRuns, OwnershipLost } from '../runs/inFlightRuns.js';
import { LocalSteps } from '../runs/localSteps.js';
import { runStepJob, type StepJobDeps } from '../runs/stepJob.js';
import { StepsEnded } from '../runs/stepsEnded.js';
import type { StepQueue } from '../queue/stepQueue.js';
import { pruneRunEvents, type PrunedRunEvents, type PruneRunEventsDeps } from '../runs/pruneRunEvents.js';
import { recoverInterruptedRuns, type RecoverDeps } from '../runs/recoverInterruptedRuns.js';
import { RunReadModel } from '../runs/runReadModel.js';
import { RunTransitions } from '../runs/runTransitions.js';
import { PlatformLocks } from '../runs/platformLocks.js';
import { ScrapePool } from '../runs/scrapePool.js';
import { startRun, type StartRunDeps, type StartRunRequest } from '../runs/startRun.js';
import { takeOverRun } from '../runs/takeOverRun.js';
import { stopRuns } from '../runs/stopRuns.js';
import { VolumeWatch } from '../runs/volumeDrop.js';
import type { RunDetail } from '../shared/contract.js';
import type { Metrics } from '../telemetry/metrics.js';

/** The run engine as wired here: every use case takes the part of it that it declares. */
type RunWiring = StartRunDeps & DetectStaleRunsDeps & RecoverDeps & PruneRunEventsDeps & StepJobDeps & { bus: ProgressBus; locks: PlatformLocks; stepQueue: StepQueue; browserPages: number };

type FinishArgs = Parameters<typeof finishRun> extends [unknown, ...infer Rest] ? Rest : never;

/** Parts of the engine a caller may replace at start (a bench's baseline, a test's fault); nothing is swapped afterwards. */
export interface RunOverrides {
  /** The event log every use case records through (default: the PostgreSQL bus's EventLog). */
  events?(orm: Orm, bus: ProgressBus): EventLog;
  /**
   * `in-process`: a run's steps are handed straight to this replica's step handler, as before steps were jobs
   * (bench:queue's baseline; no other replica takes them, nothing is delivered again). Default: the queue.
   */
  dispatch?: 'queue' | 'in-process';
}

export interface RunEngineDeps {
  config: Config;
  orm: Orm;
  logger: Logger;
  metrics: Metrics;
  platforms: Platforms;
  ownerId: string;
  bus: ProgressBus;
  presence: ReplicaPresence;
  liveness: Pick<OwnerLiveness, 'isHeld' | 'isAlive'>;
  /** The step jobs' queue on this database (every replica sends and takes steps through it). */
  stepQueue: StepQueue;
  /** The trace link of a run (TRACE_URL_TEMPLATE, or the dashboard's own trace view). */
  traceUrlTemplate: string | undefined;
  overrides?: RunOverrides;
}

/**
 * The run engine's use cases, bound to one wiring: what the scheduler's jobs, the HTTP routes, replica
 * coordination and shutdown call, and what tests drive. Its parts are read-only: a caller that needs a
 * different part says so at start (RunOverrides).
 */
export class RunEngine {
  readonly events: EventLog;
  readonly inFlight: InFlightRuns;
  readonly reads: RunReadModel;
  readonly scrapePool: ScrapePool;
  readonly freshness: Freshness;
  readonly bookmakers: BookmakerFreshness;
  readonly frozen: FrozenBookmakers;
  readonly volume: VolumeWatch;
  /** Matches listings to sporting events (stateless; the matching lock lives in PostgreSQL). */
  readonly matcher: SportingEventMatcher;
  /** One scrape per platform at a time across replicas; the preview takes a configured platform's turn too. */
  readonly locks: PlatformLocks;
  /** Runs stopped while the liveness lock was not held, failed once it is back. */
  private readonly dropped = new Set<number>();

  private constructor(
    private readonly wiring: RunWiring,
    private readonly liveness: RunEngineDeps['liveness'],
  ) {
    ({ events: this.events, inFlight: this.inFlight, reads: this.reads, scrapePool: this.scrapePool, freshness: this.freshness, bookmakers: this.bookmakers, frozen: this.frozen, volume: this.volume, matcher: this.matcher, locks: this.locks } = wiring);
  }

  static async build(deps: RunEngineDeps): Promise<RunEngine> {
    const { config, orm, logger, metrics, platforms, ownerId, bus, presence } = deps;
    // Read once: freshness takes the last success times, the volume watch the last events found.
    const lastSteps = await lastSuccessfulSteps(orm, platforms.names);
    const locks = new PlatformLocks({
      execute: (sql, params) => boundRows(orm, sql, params),
      ownerId,
      liveness: deps.liveness,
      spacingOf: (platform) => platforms.requestSpacingMs.get(platform) ?? 0,
      logger,
      onWaited: (outcome) => metrics.platformLockWaited(outcome),
    });
    const scrapePool = new ScrapePool(config.scrapeConcurrency, { locks });
    metrics.observeScrapeSlots({ slotsInUse: () => scrapePool.inUse, slots: () => scrapePool.concurrency, stepsWaiting: () => scrapePool.waitingCount });
    const wiring: RunWiring = {
      config,
      orm,
      logger,
      metrics,
      platforms,
      ownerId,
      bus,
      transitions: new RunTransitions(orm, { onRetry: (error, attempt) => logger.warn({ err: error, attempt }, 'database unreachable; retrying the write') }),
      scrapePool,
      locks,
      reads: new RunReadModel(orm, deps.traceUrlTemplate),
      events: deps.overrides?.events?.(orm, bus) ?? new EventLog(orm, bus),
      guard: new ConnectionGuard(bus, config.connectionGraceMs, Date.now, { watchers: presence, refreshMs: Math.min(1_000, config.presenceRefreshMs), logger }),
      inFlight: new InFlightRuns(),
      freshness: new Freshness(platforms.names, lastSteps),
      bookmakers: await BookmakerFreshness.load(orm, platforms.names, logger),
      frozen: new FrozenBookmakers(orm, platforms.names, logger),
      volume: VolumeWatch.load({ metrics, logger, settings: config }, lastSteps),
      matcher: createSportingEventMatcher(orm),
      stepQueue: deps.overrides?.dispatch === 'in-process' ? inProcessSteps(deps.stepQueue, () => wiring) : deps.stepQueue,
      browserPages: platforms.browsers.maxPages,
      stepsEnded: new StepsEnded(),
      runSpans: new Map(),
      steps: new LocalSteps(),
      runSpanOf: (runId) => wiring.runSpans.get(runId),
    };
    return new RunEngine(wiring, deps.liveness);
  }

  /**
   * This replica takes step jobs from now on: HTTP steps up to SCRAPE_CONCURRENCY at once, browser steps up
   * to the browser pool's pages.
   */
  startWorking(): void {
    const { stepQueue, scrapePool, browserPages } = this.wiring;
    stepQueue.work('http', scrapePool.ceiling, (delivery) => runStepJob(this.wiring, delivery));
    stepQueue.work('browser', Math.min(scrapePool.ceiling, browserPages), (delivery) => runStepJob(this.wiring, delivery));
  }

  /** A step of `runId` ended (its event reached this replica's bus): its runner, if here, looks at once. */
  stepEnded(runId: number): void {
    this.wiring.stepsEnded.ended(runId);
  }

  /** Starts a run here; 503 while this replica does not hold its liveness lock (a survivor may fail its runs). */
  start(request: StartRunRequest): Promise<RunDetail> {
    if (!this.liveness.isHeld()) {
      throw new AppError('not_owning_runs', 503, 'this replica lost its database liveness lock and cannot own runs now; retry in a few seconds');
    }
    return startRun(this.wiring, request);
  }

  /**
   * An operator cancels an active run, on whichever replica the request lands: the compare-and-set ends it
   * `cancelled` here (steps pending -> skipped, running -> failed "stopped: the run was cancelled"); the
   * replica running it stops its platforms when the run.finished reaches it (stopEndedElsewhere), or at once
   * when that is this one. Null when the run had already ended (or does not exist).
   */
  cancel(runId: number): Promise<RunDetail | null> {
    return this.finish(runId, 'cancelled', null, { actor: 'operator', from: ['pending', 'running'] });
  }

  /**
   * A run's `run.finished` reached this replica's bus: if another replica ended a run this one executes
   * (cancel, the watchdog, a lost connection seen there), its runner stops now rather than at its next
   * heartbeat. When this replica ended it, finishRun stopped the runner before publishing: a no-op.
   */
  stopEndedElsewhere(runId: number): void {
    if (this.inFlight.abort(runId, 'run ended elsewhere')) {
      this.wiring.logger.warn({ run_id: runId, learned_from: 'run.finished' }, 'run was ended elsewhere; stopping its runner');
    }
    const stopped = this.wiring.steps.abortRun(runId, new Error('the run ended'));
    if (stopped > 0) this.wiring.logger.info({ run_id: runId, steps: stopped, learned_from: 'run.finished' }, 'run ended: stopping its steps scraping here');
  }

  finish(...args: FinishArgs): Promise<RunDetail | null> {
    return finishRun(this.wiring, ...args);
  }

  /**
   * The same engine as another process on this database sees it: its own in-flight runs, so a run it
   * finishes keeps our runner going (the runner learns of it as it would from another replica).
   */
  asAnotherProcess(): Pick<RunEngine, 'finish'> {
    const elsewhere = { ...this.wiring, inFlight: new InFlightRuns() };
    return { finish: (...args: FinishArgs) => finishRun(elsewhere, ...args) };
  }

  detectStale(): Promise<number> {
    return detectStaleRuns(this.wiring);
  }

  pruneEvents(): Promise<PrunedRunEvents> {
    return pruneRunEvents(this.wiring);
  }

  pruneOdds(retentionDays: number): Promise<number> {
    return pruneOdds(this.wiring, retentionDays);
  }

  /** Fails interrupted runs: this process's leftovers at start-up, dead owners' runs when `periodic`. */
  recover(periodic = false): Promise<number> {
    return recoverInterruptedRuns(this.wiring, this.liveness, periodic);
  }

  /**
   * Graceful shutdown: takes no new step jobs; lets the runs it owns and the steps it scrapes finish within
   * `graceMs`; then fails its runs still active and lets go of its steps still running (their jobs are
   * delivered to another replica as their next attempt).
   */
  async stopAll(graceMs: number): Promise<void> {
    const { stepQueue, steps, logger } = this.wiring;
    stepQueue.stopWorking();
    const letGo = async () => {
      if (await steps.settled(graceMs)) return;
      const stopped = steps.abortAll(new OwnershipLost('this replica shuts down'));
      logger.warn({ steps: stopped, shutdown_grace_ms: graceMs }, 'shutting down: steps still scraping here are handed back to the queue');
      await steps.settled(10_000);
    };
    await Promise.all([stopRuns(this.wiring, graceMs), letGo()]);
    await this.wiring.locks.close();
  }

  /**
   * The liveness lock is lost and a survivor may take our runs over: stop owning them (runners stopped) and let
   * go of the steps scraping here (left running: a survivor hands their jobs back for their next attempt).
   */
  stopOwning(): void {
    for (const { runId } of this.inFlight.list()) {
      this.dropped.add(runId);
      this.inFlight.abort(runId, new OwnershipLost('this process lost its liveness lock'));
    }
    this.wiring.steps.abortAll(new OwnershipLost('this process lost its liveness lock'));
  }

  /**
   * The lock is back: the runs stopped while it was lost and that no survivor took over meanwhile go on here,
   * taken over as from a dead owner (their interrupted steps scraped again); one too old for that is failed.
   */
  failStopped(): void {
    for (const runId of [...this.dropped]) {
      this.dropped.delete(runId);
      const { ownerId, logger } = this.wiring;
      void (async () => {
        await this.inFlight.settled(runId);
        if (await takeOverRun(this.wiring, runId, ownerId)) return;
        // Only while still ours: a survivor may have taken it over while the lock was lost.
        await this.finish(runId, 'failed', 'interrupted', { actor: 'recovery', owner: ownerId, from: ['pending', 'running'], details: { cause: 'liveness lock lost' } });
      })().catch((error: unknown) => logger.error({ err: error, run_id: runId }, 'cannot resume or end a run stopped while the liveness lock was lost'));
    }
  }
}

/** bench:queue's baseline: every step sent is run at once by this replica's step handler, without the queue. */
function inProcessSteps(queue: StepQueue, wiring: () => RunWiring): StepQueue {
  const direct = Object.create(queue) as StepQueue;
  direct.send = async (_kind, jobs) => {
    for (const data of jobs) {
      void runStepJob(wiring(), { data, attempt: 1, queuedAt: new Date(), signal: new AbortController().signal }).catch((error: unknown) =>
        wiring().logger.error({ err: error, run_id: data.runId, platform: data.platform }, 'step crashed'),
      );
    }
  };
  direct.work = () => undefined;
  return direct;
}
