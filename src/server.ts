import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { openDatabase, type Orm } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embeddedPostgres.js';
import { createApp, createMetricsApp } from './http/app.js';
import { answerConnect } from './http/security.js';
import type { SseDeps } from './http/sse.js';
import { createPlatforms, type Platforms } from './platforms/registry.js';
import { ConnectionGuard } from './runs/connectionGuard.js';
import { detectStaleRuns } from './runs/detectStaleRuns.js';
import type { RunEngine } from './runs/engine.js';
import { EventLog } from './runs/eventLog.js';
import { OwnerLiveness } from './runs/ownerLiveness.js';
import { InProcessProgressBus } from './runs/progressBus.js';
import { pruneRunEvents } from './runs/pruneRunEvents.js';
import { recoverInterruptedRuns } from './runs/recoverInterruptedRuns.js';
import { RunRepository } from './runs/runRepository.js';
import { startRun } from './runs/startRun.js';
import { stopRuns } from './runs/stopRuns.js';
import { Scheduler } from './scheduler/scheduler.js';
import { AppError } from './errors.js';
import { RETENTION_JOB_ID, SCRAPE_JOB_ID, WATCHDOG_JOB_ID } from './shared/contract.js';
import { createLogger } from './telemetry/logger.js';
import { VERSION } from './version.js';
import { createMetrics } from './telemetry/metrics.js';
import { createLocalMetricsPipeline, type MetricsPipeline } from './telemetry/prometheus.js';

export interface ServerOptions {
  logger?: Logger;
  /** The SDK's Prometheus pipeline (main.ts); absent: a private one (tests). */
  metricsPipeline?: MetricsPipeline;
  dashboardDir?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  metricsUrl: string | undefined;
  databaseUrl: string;
  engine: RunEngine;
  scheduler: Scheduler;
  platforms: Platforms;
  orm: Orm;
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
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.error({ step: step.name || 'anonymous' }, 'shutdown step did not finish in 10 s; going on');
          resolve();
        }, 10_000);
      });
      await Promise.race([step().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed')), deadline]);
      clearTimeout(timer);
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
    const orm = await openDatabase(databaseUrl, logger);
    cleanup.push(() => orm.close(true));

    const ownerId = randomUUID();
    const liveness = await OwnerLiveness.hold(databaseUrl, ownerId);
    cleanup.push(() => liveness.release());

    const metricsPipeline = options.metricsPipeline ?? createLocalMetricsPipeline();
    if (!options.metricsPipeline) cleanup.push(() => metricsPipeline.shutdown());
    const metrics = createMetrics(metricsPipeline.meter, platforms.names);

    const bus = new InProcessProgressBus();
    const runs = new RunRepository(orm, config.traceUrlTemplate);
    const engine: RunEngine = {
      config,
      orm,
      runs,
      events: new EventLog(orm, bus),
      bus,
      guard: new ConnectionGuard(bus, config.connectionGraceMs),
      platforms,
      metrics,
      logger,
      ownerId,
      inFlight: new Map(),
      lastSuccess: new Map(),
    };
    for (const outcome of await runs.platformOutcomes()) {
      if (outcome.lastSuccessAt) engine.lastSuccess.set(outcome.platform, outcome.lastSuccessAt.getTime() / 1000);
    }

    await recoverInterruptedRuns(engine, liveness);

    const scheduler = new Scheduler(
      orm,
      [
        {
          id: SCRAPE_JOB_ID,
          description: 'Scrape every configured platform',
          defaultIntervalSeconds: config.scrapeIntervalSeconds,
          pausable: true,
          tick: async () => {
            try {
              const run = await startRun(engine, { trigger: 'scheduled' });
              return `started run ${run.id}`;
            } catch (error) {
              if (!(error instanceof AppError && error.code === 'run_active')) throw error;
              metrics.tickSkipped(SCRAPE_JOB_ID);
              logger.info({ job: SCRAPE_JOB_ID, active_run_id: (error.details as { activeRunId: number }).activeRunId }, 'scheduled scrape skipped: a run is active');
              return 'skipped';
            }
          },
        },
        {
          id: WATCHDOG_JOB_ID,
          description: 'Fail runs that stopped making progress (stale)',
          defaultIntervalSeconds: config.watchdogIntervalSeconds,
          pausable: false,
          tick: async () => `failed ${await detectStaleRuns(engine)} stale runs`,
        },
        {
          id: RETENTION_JOB_ID,
          description: `Delete progress events of runs finished over ${config.eventRetentionDays} days ago`,
          defaultIntervalSeconds: 3600,
          pausable: false,
          tick: async () => `deleted ${await pruneRunEvents(engine)} events`,
        },
      ],
      logger,
      async (state) => {
        await engine.events.record(null, 'scheduler.changed', { scheduler: state });
      },
      (job) => metrics.tickSkipped(job),
    );
    await scheduler.start(config.schedulerEnabled);
    cleanup.push(async () => scheduler.stop());

    const sse: SseDeps = {
      bus,
      metrics,
      logger,
      open: new Set(),
      settings: {
        heartbeatMs: config.sseHeartbeatMs,
        retryMs: config.sseRetryMs,
        bufferSize: config.sseSubscriberBuffer,
        writeTimeoutMs: config.sseWriteTimeoutMs,
      },
    };
    metrics.observe({
      sseSubscribers: (stream) => bus.subscriberCount(stream),
      runActivity: () => runs.runActivity(),
      lastSuccessSeconds: () => engine.lastSuccess,
      schedulerPaused: () => scheduler.isPaused(),
      schedulerNextRunSeconds: (job) => scheduler.nextRunSeconds(job),
    });

    const app = createApp({ config, engine, scheduler, sse, metrics: metricsPipeline, logger, version: VERSION, dashboardDir: options.dashboardDir });
    const server = await listen(app.fetch, config.host, config.port);
    answerConnect(server);
    const port = (server.address() as AddressInfo).port;
    let metricsServer: ServerType | undefined;
    if (config.metricsPort !== undefined) {
      metricsServer = await listen(createMetricsApp(metricsPipeline).fetch, config.host, config.metricsPort);
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
      platforms,
      orm,
      stop,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
