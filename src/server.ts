import { randomUUID } from 'node:crypto';
import type { Server, ServerOptions as HttpServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { boundRows } from './db/boundStatement.js';
import { openDatabase, type Orm } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embeddedPostgres.js';
import { createApp, createMetricsApp } from './http/app.js';
import { answerClientErrors, answerConnect } from './http/security.js';
import { bypassInstrumentationFor } from './http/instrumentationBypass.js';
import { isEventStreamPath } from './http/quietPaths.js';
import type { SseDeps } from './http/sse.js';
import { createPlatforms, type Platforms } from './platforms/registry.js';
import { Freshness } from './liveState/freshness.js';
import { observeLiveState } from './liveState/observeLiveState.js';
import { ConnectionGuard } from './runs/connectionGuard.js';
import { detectStaleRuns, type DetectStaleRunsDeps } from './runs/detectStaleRuns.js';
import { EventLog } from './events/eventLog.js';
import { InFlightRuns } from './runs/inFlightRuns.js';
import { platformOutcomes } from './runs/platformOutcomes.js';
import type { ProgressBus } from './events/progressBus.js';
import { AppError } from './errors.js';
import { finishRun } from './runs/finishRun.js';
import { startCoordination } from './replicas/coordination.js';
import { OwnerLiveness } from './replicas/ownerLiveness.js';
import { PostgresProgressBus } from './events/postgresProgressBus.js';
import { ReplicaPresence } from './replicas/presence.js';
import { createReplicaMetrics } from './replicas/replicaMetrics.js';
import { pruneOdds } from './odds/pruneOdds.js';
import { pruneRunEvents, type PruneRunEventsDeps } from './runs/pruneRunEvents.js';
import { recoverInterruptedRuns, type RecoverDeps } from './runs/recoverInterruptedRuns.js';
import { RunReadModel } from './runs/runReadModel.js';
import { RunTransitions } from './runs/runTransitions.js';
import { ScrapePool } from './runs/scrapePool.js';
import { startRun, type StartRunDeps, type StartRunRequest } from './runs/startRun.js';
import { VolumeWatch } from './runs/volumeDrop.js';
import { stopRuns } from './runs/stopRuns.js';
import { createJobs } from './scheduler/jobs.js';
import { Scheduler } from './scheduler/scheduler.js';
import { settlesWithin } from './shared/timeout.js';
import { createLogger } from './telemetry/logger.js';
import { VERSION } from './version.js';
import { createMetrics } from './telemetry/metrics.js';
import type { RecentTraces } from './telemetry/recentTraces.js';
import { createLocalMetricsPipeline, type MetricsPipeline } from './telemetry/prometheus.js';

/** The dashboard's own trace view (dashboard/src/views/TraceView.vue), the link when no TRACE_URL_TEMPLATE is set. */
const BUILT_IN_TRACE_URL = '/traces/{traceId}';

export interface ServerOptions {
  logger?: Logger;
  /** The SDK's Prometheus pipeline (main.ts); absent: a private one (tests). */
  metricsPipeline?: MetricsPipeline;
  /** This process's last run traces when it exports none (main.ts); also the default trace link. */
  traces?: RecentTraces;
  dashboardDir?: string;
}

/** The run engine as wired here: every use case takes the part of it that it declares. */
export type RunWiring = StartRunDeps & DetectStaleRunsDeps & RecoverDeps & PruneRunEventsDeps & { bus: ProgressBus };

export interface RunningServer {
  url: string;
  port: number;
  metricsUrl: string | undefined;
  databaseUrl: string;
  /** The run engine's wiring, for tests that drive a use case directly. */
  engine: RunWiring;
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
 * Builds and starts the whole service: database (embedded when DATABASE_URL is unset), platforms,
 * run engine, start-up recovery, scheduler, HTTP. `stop()` shuts it down gracefully.
 */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanup: (() => Promise<unknown>)[] = [];
  // Each shutdown step gets a deadline: a dependency that died first (the database, say) must not hang the exit.
  const closeAll = async () => {
    for (const step of cleanup.reverse()) {
      const done = step().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
      if (!(await settlesWithin(done, 10_000))) logger.error({ step: step.name || 'anonymous' }, 'shutdown step did not finish in 10 s; going on');
    }
    cleanup.length = 0;
  };
  try {
    // Platforms first: a bad PLATFORMS_FILE or SIM_FEEDS fails fast, before any database is started.
    const platforms = await createPlatforms(config);
    cleanup.push(() => platforms.stop());

    let embedded: EmbeddedDatabase | undefined;
    if (!config.databaseUrl) {
      embedded = await startEmbeddedPostgres(config.embeddedPgDir, logger);
      cleanup.push(() => embedded!.stop());
    }
    const databaseUrl = config.databaseUrl ?? embedded!.url;
    const orm = await openDatabase(databaseUrl, logger, { statementTimeoutMs: config.databaseStatementTimeoutMs, connectTimeoutMs: config.databaseConnectTimeoutMs });
    cleanup.push(() => orm.close(true));

    // One id per process: its runs' owner, its liveness lock, its presence row and its sessions' names.
    const ownerId = randomUUID();
    const metricsPipeline = options.metricsPipeline ?? createLocalMetricsPipeline();
    if (!options.metricsPipeline) cleanup.push(() => metricsPipeline.shutdown());
    const metrics = createMetrics(metricsPipeline.meter, platforms.names);
    const replicaMetrics = createReplicaMetrics(metricsPipeline.meter);

    // While the liveness lock is not held a survivor may fail this process's runs: stop owning them
    // (runners stopped, new runs refused with 503), and fail the ones stopped once the lock is back.
    const dropped = new Set<number>();
    let engineReady = false;
    const liveness = await OwnerLiveness.hold(databaseUrl, ownerId, {
      logger,
      onLost: () => {
        if (!engineReady) return;
        for (const { runId } of engine.inFlight.list()) {
          dropped.add(runId);
          engine.inFlight.abort(runId, 'this process lost its liveness lock');
        }
      },
      onRegained: () => {
        for (const runId of [...dropped]) {
          dropped.delete(runId);
          void finishRun(engine, runId, 'failed', 'interrupted', { actor: 'recovery', from: ['pending', 'running'], details: { cause: 'liveness lock lost' } }).catch(
            (error: unknown) => logger.error({ err: error, run_id: runId }, 'cannot end a run stopped while the liveness lock was lost'),
          );
        }
      },
    });
    cleanup.push(() => liveness.release());

    const bus = new PostgresProgressBus({ databaseUrl, replicaId: ownerId, logger, onReconnect: () => replicaMetrics.busReconnected() });
    await bus.start();
    cleanup.push(() => bus.stop());
    const presence = new ReplicaPresence({
      execute: (sql, params) => boundRows(orm, sql, params),
      replicaId: ownerId,
      counts: () => bus.localCounts(),
      logger,
      refreshMs: config.presenceRefreshMs,
    });
    await presence.start();
    cleanup.push(() => presence.stop());
    bus.onSubscribersChanged(() => presence.changed());

    const engine: RunWiring = {
      config,
      orm,
      logger,
      metrics,
      platforms,
      ownerId,
      bus,
      transitions: new RunTransitions(orm, { onRetry: (error, attempt) => logger.warn({ err: error, attempt }, 'database unreachable; retrying the write') }),
      scrapePool: new ScrapePool(config.scrapeConcurrency),
      reads: new RunReadModel(orm, config.traceUrlTemplate ?? (options.traces ? BUILT_IN_TRACE_URL : undefined)),
      events: new EventLog(orm, bus),
      guard: new ConnectionGuard(bus, config.connectionGraceMs, Date.now, { watchers: presence, refreshMs: Math.min(1_000, config.presenceRefreshMs), logger }),
      inFlight: new InFlightRuns(),
      freshness: new Freshness(platforms.names, await platformOutcomes(orm)),
      volume: await VolumeWatch.load({ orm, metrics, logger, settings: config }, platforms.names),
    };
    engineReady = true;
    await recoverInterruptedRuns(engine, liveness);

    const startRunHere = (request: StartRunRequest) => {
      if (!liveness.isHeld()) {
        throw new AppError('not_owning_runs', 503, 'this replica lost its database liveness lock and cannot own runs now; retry in a few seconds');
      }
      return startRun(engine, request);
    };
    const jobs = createJobs({
      startRun: startRunHere,
      detectStaleRuns: () => detectStaleRuns(engine),
      pruneRunEvents: () => pruneRunEvents(engine),
      pruneOdds: () => pruneOdds(engine, config.eventRetentionDays),
      metrics,
      logger,
      config,
    });
    const scheduler = new Scheduler(
      orm,
      jobs,
      logger,
      async (state) => {
        await engine.events.record(null, 'scheduler.changed', { scheduler: state });
      },
      (job) => metrics.tickSkipped(job),
    );
    await scheduler.start(config.schedulerEnabled);
    // The leader ticks the jobs and fails dead replicas' runs; every replica follows scheduler.changed.
    const coordination = await startCoordination({
      config,
      databaseUrl,
      replicaId: ownerId,
      logger,
      bus,
      scheduler,
      metrics: replicaMetrics,
      recoverOrphans: () => recoverInterruptedRuns(engine, liveness, true),
    });
    cleanup.push(async () => {
      scheduler.stop();
      await coordination.stop();
    });

    let draining = false;
    const sse: SseDeps = {
      draining: () => draining,
      bus,
      metrics,
      logger,
      open: new Set(),
      settings: {
        heartbeatMs: config.sseHeartbeatMs,
        retryMs: config.sseRetryMs,
        bufferSize: config.sseSubscriberBuffer,
        writeTimeoutMs: config.sseWriteTimeoutMs,
        maxStreamsPerClient: config.sseMaxStreamsPerClient,
        maxStreams: config.sseMaxStreams,
      },
    };
    observeLiveState(metrics, { orm, bus, freshness: engine.freshness, lastScrape: engine.volume.lastScrape, scheduler, logger });

    const app = createApp({
      config,
      orm,
      platforms,
      runs: engine.reads,
      events: engine.events,
      startRun: startRunHere,
      scheduler,
      sse,
      metrics: metricsPipeline,
      traces: options.traces,
      onUnauthorized: (route) => metrics.unauthorized(route),
      onLimited: () => metrics.limited('unauthorized'),
      logger,
      version: VERSION,
      dashboardDir: options.dashboardDir,
    });
    const server = await listen(app.fetch, config.host, config.port, slowClientBounds(config));
    answerConnect(server);
    answerClientErrors(server);
    bypassInstrumentationFor(server as Server, isEventStreamPath);
    const port = (server.address() as AddressInfo).port;
    let metricsServer: ServerType | undefined;
    if (config.metricsPort !== undefined) {
      metricsServer = await listen(createMetricsApp(metricsPipeline).fetch, config.host, config.metricsPort, slowClientBounds(config));
    }
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host}:${port}`;
    const metricsUrl = metricsServer ? `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics` : undefined;
    if (metricsUrl) logger.info({ url: metricsUrl }, 'metrics listening');
    logger.info({ url, owner_id: ownerId, platforms: platforms.names, embedded_database: Boolean(embedded) }, 'oddswatch listening');

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        logger.info('shutting down');
        // Not ready, and no new streams, from the first moment: balancers and browsers move to a live replica.
        draining = true;
        scheduler.stop();
        server.close();
        metricsServer?.close();
        for (const stream of [...sse.open]) stream.end('server_shutdown');
        await stopRuns(engine, config.shutdownGraceMs);
        if ('closeAllConnections' in server) server.closeAllConnections();
        if (metricsServer && 'closeAllConnections' in metricsServer) metricsServer.closeAllConnections();
        await closeAll();
        logger.info('shut down');
      })();
      return stopping;
    };
    return {
      url,
      port,
      metricsUrl,
      databaseUrl,
      engine,
      scheduler,
      ownerId,
      isLeader: () => coordination.leadership.isLeader(),
      platforms,
      orm,
      routes: app.routes,
      stop,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Slow clients (slowloris): Node's defaults hold a connection trickling its headers for 60 s and its body
 * for 300 s, checked every 30 s. Both bound receiving the request only (408, then closed), never the
 * response: an SSE stream outlives them. Idle keep-alive connections close after Node's 5 s.
 */
const slowClientBounds = (config: Config): HttpServerOptions => ({
  headersTimeout: config.httpHeadersTimeoutMs,
  requestTimeout: config.httpRequestTimeoutMs,
  connectionsCheckingInterval: 1_000,
});

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number, serverOptions: HttpServerOptions): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, serverOptions }, () => resolve(server));
    server.once('error', reject);
  });
}
