import type { Server, ServerOptions as HttpServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import type { ProgressBus } from '../events/index.js';
import { createApp, createMetricsApp } from '../http/app.js';
import { bypassInstrumentationFor } from '../telemetry/instrumentationBypass.js';
import { isEventStreamPath } from '../telemetry/quietPaths.js';
import { answerClientErrors, answerConnect } from '../http/security.js';
import { Fanout } from '../http/sse/fanout.js';
import { StreamLimits } from '../http/sse/limits.js';
import type { SseDeps } from '../http/sse/eventStream.js';
import type { Platforms } from '../platforms/registry.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { MetricsPipeline } from '../telemetry/prometheus.js';
import type { RecentTraces } from '../telemetry/recentTraces.js';
import { VERSION } from '../version.js';
import type { RunEngine } from './runs.js';

export interface HttpDeps {
  config: Config;
  orm: Orm;
  platforms: Platforms;
  runs: RunEngine;
  scheduler: Scheduler;
  bus: ProgressBus;
  metrics: Metrics;
  pipeline: MetricsPipeline;
  logger: Logger;
  traces: RecentTraces | undefined;
  dashboardDir: string | undefined;
}

/** The listening HTTP side, and its three steps of a graceful shutdown (in this order). */
export interface HttpSide {
  url: string;
  port: number;
  metricsUrl: string | undefined;
  /** The HTTP routes as mounted (the OpenAPI test checks that the document has every /api one). */
  routes: readonly { method: string; path: string }[];
  /** Not ready (/readyz 503) and no new streams, from the first moment: balancers and browsers move to a live replica. */
  refuseNew(): void;
  /** Stops accepting connections and ends every open stream with server_shutdown. */
  stopListening(): void;
  /** Closes the connections left (keep-alive, requests still open). */
  closeConnections(): void;
}

/**
 * The API, the dashboard and the SSE streams on HOST:PORT, and /metrics on METRICS_PORT when set. The
 * SSE streams' fan-out and limits belong to this server: two servers in one process share none of them.
 */
export async function serveHttp(deps: HttpDeps): Promise<HttpSide> {
  const { config, runs, metrics, logger } = deps;
  let draining = false;
  const sse: SseDeps = {
    draining: () => draining,
    bus: deps.bus,
    metrics,
    logger,
    open: new Set(),
    settings: {
      retryMs: config.sseRetryMs,
      bufferSize: config.sseSubscriberBuffer,
      writeTimeoutMs: config.sseWriteTimeoutMs,
    },
    fanout: new Fanout(config.sseHeartbeatMs),
    /** Concurrent streams per client address and in total; beyond them 429 (SSE_MAX_STREAMS_PER_CLIENT, SSE_MAX_STREAMS). */
    limits: new StreamLimits(config.sseMaxStreamsPerClient, config.sseMaxStreams),
  };
  const app = createApp({
    config,
    orm: deps.orm,
    platforms: deps.platforms,
    runs: runs.reads,
    events: runs.events,
    startRun: (request) => runs.start(request),
    cancelRun: (id) => runs.cancel(id),
    scheduler: deps.scheduler,
    sse,
    metrics: deps.pipeline,
    traces: deps.traces,
    quotaRemaining: (platform) => metrics.quotaRemaining(platform),
    countMatchedExisting: (selections) => runs.matcher.countMatchedExisting(selections),
    matcher: runs.matcher,
    takePlatform: (platform, signal) => runs.locks.take(platform, signal),
    // The simulated platforms' secrets (their odds API's key) beside the service's own, so their entries preview as they scrape.
    platformEnv: { ...process.env, ...deps.platforms.simulated?.env },
    onUnauthorized: (route) => metrics.unauthorized(route),
    onLimited: () => metrics.limited('unauthorized'),
    logger,
    version: VERSION,
    dashboardDir: deps.dashboardDir,
  });
  const server = await listen(app.fetch, config.host, config.port, slowClientBounds(config));
  answerConnect(server);
  answerClientErrors(server);
  bypassInstrumentationFor(server as Server, isEventStreamPath);
  const port = (server.address() as AddressInfo).port;
  let metricsServer: ServerType | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await listen(createMetricsApp(deps.pipeline).fetch, config.host, config.metricsPort, slowClientBounds(config));
  }
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const metricsUrl = metricsServer ? `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics` : undefined;
  if (metricsUrl) logger.info({ url: metricsUrl }, 'metrics listening');
  return {
    url: `http://${host}:${port}`,
    port,
    metricsUrl,
    routes: app.routes,
    refuseNew: () => {
      draining = true;
    },
    stopListening: () => {
      server.close();
      metricsServer?.close();
      for (const stream of [...sse.open]) stream.end('server_shutdown');
    },
    closeConnections: () => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      if (metricsServer && 'closeAllConnections' in metricsServer) metricsServer.closeAllConnections();
    },
  };
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
