import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Orm } from './db/database.js';
import type { EventLog, ProgressBus } from './events/index.js';
import { observeLiveState } from './liveState/observeLiveState.js';
import { allowPlatformAddresses } from './platforms/forbiddenAddresses.js';
import { createPlatforms, type Platforms } from './platforms/registry.js';
import type { Scheduler } from './scheduler/scheduler.js';
import { createLogger } from './telemetry/logger.js';
import type { MetricsPipeline } from './telemetry/prometheus.js';
import type { RecentTraces } from './telemetry/recentTraces.js';
import { CleanupStack } from './composition/cleanupStack.js';
import { connectDatabase } from './composition/database.js';
import { serveHttp } from './composition/http.js';
import { coordinateReplicas, joinReplicas, joinStepQueue } from './composition/replicas.js';
import { RunEngine, type RunOverrides } from './composition/runs.js';
import { startScheduler } from './composition/scheduler.js';
import { createServiceMetrics } from './composition/telemetry.js';

/** The dashboard's own trace view (dashboard/src/views/TraceView.vue), the link when no TRACE_URL_TEMPLATE is set. */
const BUILT_IN_TRACE_URL = '/traces/{traceId}';

export interface ServerOptions {
  logger?: Logger;
  /** The SDK's Prometheus pipeline (main.ts); absent: a private one (tests). */
  metricsPipeline?: MetricsPipeline;
  /** This process's last run traces when it exports none (main.ts); also the default trace link. */
  traces?: RecentTraces;
  dashboardDir?: string;
  /** Parts of the run engine replaced at start (benches, fault tests). */
  overrides?: RunOverrides;
  /** This replica's id: its telemetry resource's service.instance.id (main.ts); absent: a new one (tests, several servers in a process). */
  replicaId?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  metricsUrl: string | undefined;
  databaseUrl: string;
  /** The run engine's use cases, for tests and benches that drive one directly. */
  runs: RunEngine;
  /** The event log every use case records through, and the progress bus it publishes on. */
  events: EventLog;
  bus: ProgressBus;
  scheduler: Scheduler;
  /** This process's owner id (its runs, liveness lock, presence row and session names). */
  ownerId: string;
  isLeader(): boolean;
  platforms: Platforms;
  orm: Orm;
  /** The HTTP routes as mounted (the OpenAPI test checks that the document has every /api one). */
  routes: readonly { method: string; path: string }[];
  stop(): Promise<void>;
}

/**
 * Builds and starts the whole service: platforms, database (embedded when DATABASE_URL is unset),
 * metrics, replica membership, run engine, start-up recovery, scheduler, coordination, HTTP. Each piece
 * pushes its cleanup as it starts; `stop()` drains, stops the runs, then runs the cleanups in reverse.
 */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanups = new CleanupStack(logger);
  try {
    // Module state read by every platform connection (one set of exceptions per process: the last server started sets it).
    allowPlatformAddresses(config.allowPlatformAddresses);
    // Platforms first: a bad PLATFORMS_FILE or SIM_FEEDS fails fast, before any database is started.
    const platforms = await createPlatforms(config, logger);
    cleanups.push(() => platforms.stop());
    const database = await connectDatabase(config, logger, cleanups);
    const { orm } = database;
    // One id per replica: its runs' owner, the replica of its steps, its liveness lock, its presence row and its
    // sessions' names; the service.instance.id of its spans and metrics when main.ts passes it.
    const ownerId = options.replicaId ?? randomUUID();
    const { pipeline, metrics, replicaMetrics } = createServiceMetrics(options.metricsPipeline, platforms, cleanups);

    // While the liveness lock is not held a survivor may fail this process's runs: stop owning them
    // (runners stopped, new runs refused with 503), and fail the ones stopped once the lock is back.
    // The lock is held before the engine exists (start-up recovery asks it): until then there is nothing to stop.
    const built: { runs?: RunEngine } = {};
    const { liveness, bus, presence } = await joinReplicas(
      { config, databaseUrl: database.url, orm, ownerId, logger, metrics: replicaMetrics, onLivenessLost: () => built.runs?.stopOwning(), onLivenessRegained: () => built.runs?.failStopped() },
      cleanups,
    );
    const traceUrlTemplate = config.traceUrlTemplate ?? (options.traces ? BUILT_IN_TRACE_URL : undefined);
    const stepQueue = await joinStepQueue({ databaseUrl: database.url, logger }, cleanups);
    metrics.observeStepQueue(() => stepQueue.lastDepth);
    const engine = await RunEngine.build({ config, orm, logger, metrics, platforms, ownerId, bus, presence, liveness, stepQueue, traceUrlTemplate, overrides: options.overrides });
    built.runs = engine;
    const untapRuns = bus.tap((event) => {
      if (event.runId === null) return;
      if (event.type === 'run.finished') engine.stopEndedElsewhere(event.runId);
      else if (event.type === 'platform.completed' || event.type === 'platform.failed') engine.stepEnded(event.runId);
    });
    cleanups.push(async () => untapRuns());
    await engine.recover();
    engine.startWorking();

    const scheduler = await startScheduler({ config, orm, runs: engine, metrics, logger });
    const coordination = await coordinateReplicas(
      { config, databaseUrl: database.url, replicaId: ownerId, logger, bus, scheduler, metrics: replicaMetrics, recoverOrphans: () => engine.recover(true) },
      cleanups,
    );
    observeLiveState(metrics, { orm, bus, freshness: engine.freshness, bookmakers: engine.bookmakers, frozen: engine.frozen, lastScrape: engine.volume.lastScrape, scheduler, logger });

    const http = await serveHttp({ config, orm, platforms, runs: engine, scheduler, bus, metrics, pipeline, logger, traces: options.traces, dashboardDir: options.dashboardDir });
    logger.info({ url: http.url, owner_id: ownerId, platforms: platforms.names, embedded_database: Boolean(database.embedded) }, 'oddswatch listening');

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        logger.info('shutting down');
        http.refuseNew();
        scheduler.stop();
        http.stopListening();
        await engine.stopAll(config.shutdownGraceMs);
        http.closeConnections();
        await cleanups.closeAll();
        logger.info('shut down');
      })();
      return stopping;
    };
    return {
      url: http.url,
      port: http.port,
      metricsUrl: http.metricsUrl,
      databaseUrl: database.url,
      runs: engine,
      events: engine.events,
      bus,
      scheduler,
      ownerId,
      isLeader: () => coordination.leadership.isLeader(),
      platforms,
      orm,
      routes: http.routes,
      stop,
    };
  } catch (error) {
    await cleanups.closeAll();
    throw error;
  }
}
