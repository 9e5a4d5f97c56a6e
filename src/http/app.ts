import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { boundRows } from '../db/boundStatement.js';
import { migrationsApplied, type Orm } from '../db/database.js';
import { withDatabaseDeadline } from '../db/databaseDeadline.js';
import { requestDatabaseDeadlineMs } from '../db/ormConfig.js';
import { AppError } from '../errors.js';
import type { Platforms } from '../platforms/registry.js';
import type { EventLog } from '../events/index.js';
import { platformQuality } from '../liveState/platformQuality.js';
import { platformLastSteps } from '../runs/platformLastSteps.js';
import type { RunReadModel } from '../runs/runReadModel.js';
import type { StartRunRequest } from '../runs/startRun.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { SCRAPE_JOB_ID, type MetaInfo, type RunDetail } from '../shared/contract.js';
import { settlesWithin } from '../shared/timeout.js';
import type { MetricsPipeline } from '../telemetry/prometheus.js';
import type { AppEnv } from './appEnv.js';
import { requireOperatorToken } from './auth.js';
import { createAliasRoutes, type AliasRoutesDeps } from './routes/aliases.js';
import { databaseDeadline } from './databaseDeadline.js';
import { identifyClient, TrustedProxies } from './clientAddress.js';
import { createEdgeMetrics } from './edgeMetrics.js';
import { discardBody, refuseCrossSite, refuseUnknownHosts, refuseUnknownMethods, securityHeaders } from './security.js';
import { errorBody, onError } from './errors.js';
import { errorResponses, serveOpenApiDocument } from './openapi.js';
import { createEventRoutes } from './routes/events.js';
import { isEventStreamPath, isProbePath } from '../telemetry/quietPaths.js';
import { createHistoryRoutes } from './routes/history.js';
import { createOddsRoutes } from './routes/odds.js';
import { createPlatformRoutes, PREVIEW_PATH, type PlatformRoutesDeps } from './routes/platforms.js';
import { createRunRoutes } from './routes/runs.js';
import { createSchedulerRoutes } from './routes/scheduler.js';
import { createTraceRoutes, type TraceRoutesDeps } from './routes/traces.js';
import { recordRoute } from './routeTelemetry.js';
import type { SseDeps } from './sse/eventStream.js';
import { traceContext } from './traceContext.js';
import { limitUnauthorized } from './unauthorizedLimit.js';
import { validatedRoutes } from './validation.js';

export interface AppDeps {
  config: Config;
  orm: Orm;
  platforms: Platforms;
  runs: RunReadModel;
  events: EventLog;
  startRun(request: StartRunRequest): Promise<RunDetail>;
  /** Ends an active run `cancelled`; null when it had already ended. */
  cancelRun(id: number): Promise<RunDetail | null>;
  scheduler: Scheduler;
  sse: SseDeps;
  metrics: MetricsPipeline;
  traces: TraceRoutesDeps['traces'];
  /** The request quota a platform's API last reported on this replica (telemetry/metrics.ts); null: none. */
  quotaRemaining(platform: string): number | null;
  /** Where a previewed entry's `{ "env": "NAME" }` secrets are read from (the service's environment). */
  platformEnv: Record<string, string | undefined>;
  /** Matching a preview's selections against the stored sporting events; absent: the preview's `matchedExisting` is null. */
  countMatchedExisting?: PlatformRoutesDeps['preview']['countMatchedExisting'];
  takePlatform?: PlatformRoutesDeps['preview']['takePlatform'];
  matcher: AliasRoutesDeps['matcher'];
  /** Counts a refused operator token by route pattern. */
  onUnauthorized?(route: string): void;
  /** Counts a client refused with 429 after too many wrong tokens. */
  onLimited?(): void;
  logger: Logger;
  version: string;
  /** The built dashboard (dashboard/dist); absent: a hint to build it. */
  dashboardDir?: string;
}

const MAX_BODY_BYTES = 64 * 1024;
/** Wrong-token 401s a client may get per minute before its token guesses are refused with 429. */
const UNAUTHORIZED_PER_MINUTE = 20;
/** /readyz answers 503 when the database has not answered within this (probes time out at a few seconds). */
export const READINESS_DEADLINE_MS = 1_500;
export const DEFAULT_DASHBOARD_DIR = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../dashboard/dist');

const metaRoute = createRoute({
  method: 'get',
  path: '/meta',
  summary: 'Version, whether a token is required, platforms',
  responses: { 200: { description: 'MetaInfo' }, ...errorResponses() },
});

export function createApp(deps: AppDeps) {
  const { orm, logger } = deps;
  const app = new OpenAPIHono<AppEnv>();
  app.onError(onError(logger));
  // Whatever answered, the rest of an unread request body is read and dropped before the answer goes out.
  app.use(async (c, next) => {
    await next();
    await discardBody(c);
  });
  app.use(traceContext(), recordRoute());

  app.use(async (c, next) => {
    const started = performance.now();
    c.set('logger', logger);
    await next();
    const route = c.req.routePath;
    const quiet = isProbePath(c.req.path) || (isEventStreamPath(c.req.path) && c.res.status === 200);
    logger[quiet ? 'debug' : 'info'](
      { method: c.req.method, route, path: c.req.path, status: c.res.status, duration_ms: Math.round(performance.now() - started) },
      'request',
    );
  });
  const edge = createEdgeMetrics(deps.metrics.meter);
  app.use(securityHeaders(), refuseUnknownMethods(), refuseUnknownHosts([...deps.config.allowedHosts, deps.config.host], edge.unknownHost));

  // JSON, /metrics and the dashboard's files gzipped when asked (/api/odds: 116 kB -> a few kB); SSE never
  // (its frames go straight to the socket, and a buffering encoder would hold them back).
  const compressed = compress();
  app.use((c, next) => (isEventStreamPath(c.req.path) ? next() : compressed(c, next)));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (deps.sse.draining?.()) return c.json({ status: 'not_ready', reason: 'draining' }, 503, { 'Retry-After': '1' });
    // Its own short deadline: a frozen database makes the probe fail in time, never hang it.
    // Its database waits end at the deadline too (databaseDeadline.ts): probes leave none queued in the pool.
    const check = withDatabaseDeadline(READINESS_DEADLINE_MS, async () => {
      await boundRows(orm, 'select 1');
      return migrationsApplied(orm);
    });
    try {
      if (!(await settlesWithin(check, READINESS_DEADLINE_MS))) return c.json({ status: 'not_ready', reason: 'database unreachable' }, 503);
      const applied = await check;
      if (!applied) return c.json({ status: 'not_ready', reason: 'migrations pending' }, 503);
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'not_ready', reason: 'database unreachable' }, 503);
    }
  });
  app.route('/', createMetricsApp(deps.metrics));

  const api = validatedRoutes();
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      // The unread body stays on the socket: make the client open a fresh connection for its next request.
      c.header('Connection', 'close');
      throw new AppError('payload_too_large', 413, `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    },
  });
  // GET and HEAD carry no body; bodyLimit would still read `c.req.raw.body`, which makes @hono/node-server
  // build a full undici Request for every read and every SSE connect.
  api.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));
  api.use(
    refuseCrossSite(),
    identifyClient(new TrustedProxies(deps.config.trustedProxies)),
    limitUnauthorized({ maxFailures: UNAUTHORIZED_PER_MINUTE, windowMs: 60_000, operatorToken: deps.config.operatorToken, onLimited: deps.onLimited }),
    requireOperatorToken(deps.config.operatorToken, deps.onUnauthorized),
  );
  // 503 database_unavailable within one deadline however many database waits a request queues behind.
  // Not the preview's: it scrapes a platform for up to 30 s, and its one database read has the deadline alone.
  const databaseDeadlineMs = requestDatabaseDeadlineMs(deps.config.databaseStatementTimeoutMs);
  const requestDeadline = databaseDeadline(databaseDeadlineMs);
  api.use((c, next) => (c.req.path === PREVIEW_PATH ? next() : requestDeadline(c, next)));
  api.openapi(metaRoute, (c) =>
    c.json<MetaInfo>({
      version: deps.version,
      authRequired: Boolean(deps.config.operatorToken),
      platforms: deps.platforms.names,
      connectionGraceMs: deps.config.connectionGraceMs,
      traceUrlTemplate: deps.config.traceUrlTemplate ?? null,
    }),
  );
  api.route('/', createHistoryRoutes({ orm, platforms: deps.platforms })); // before /runs: /runs/history is not a run id
  api.route('/runs', createRunRoutes({ runs: deps.runs, events: deps.events, startRun: deps.startRun, cancelRun: deps.cancelRun, sse: deps.sse }));
  api.route('/odds', createOddsRoutes({ orm, platforms: deps.platforms, scrapeIntervalSeconds: () => deps.scheduler.intervalSeconds(SCRAPE_JOB_ID), outlierThreshold: deps.config.qualityOutlierThreshold }));
  api.route('/events', createEventRoutes({ events: deps.events, sse: deps.sse, replayWindow: deps.config.globalReplayWindow }));
  const countMatchedExisting = deps.countMatchedExisting;
  api.route(
    '/platforms',
    createPlatformRoutes({
      platforms: deps.platforms,
      lastSteps: () => platformLastSteps(orm),
      quotaRemaining: deps.quotaRemaining,
      ...(deps.config.qualityChecks
        ? { quality: () => platformQuality(orm, deps.platforms.names, deps.scheduler.intervalSeconds(SCRAPE_JOB_ID)) }
        : {}),
      preview: {
        defaultTimeoutMs: deps.config.platformTimeoutMs,
        env: deps.platformEnv,
        ...(countMatchedExisting ? { countMatchedExisting: (selections) => withDatabaseDeadline(databaseDeadlineMs, () => countMatchedExisting(selections)) } : {}),
        ...(deps.takePlatform ? { takePlatform: deps.takePlatform } : {}),
      },
    }),
  );
  api.route('/aliases', createAliasRoutes({ orm, matcher: deps.matcher }));
  api.route('/scheduler', createSchedulerRoutes({ scheduler: deps.scheduler }));
  api.route('/traces', createTraceRoutes({ traces: deps.traces }));
  serveOpenApiDocument(api, app, deps.version);
  app.route('/api', api);
  app.all('/api/*', (c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));

  mountDashboard(app, deps.dashboardDir ?? DEFAULT_DASHBOARD_DIR);
  return app;
}

/** GET /metrics alone: mounted in the app, and served by itself on METRICS_PORT. */
export function createMetricsApp(metrics: MetricsPipeline) {
  return new Hono().get('/metrics', async (c) => c.text(await metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));
}

/** Serves the built dashboard, with the SPA fallback to index.html for client routes. */
function mountDashboard(app: Hono<AppEnv>, dir: string): void {
  const index = path.join(dir, 'index.html');
  const root = path.relative(process.cwd(), dir) || '.';
  // Vite names every asset after its content: a changed file is a new URL, so an old one may be kept for a
  // year. index.html names them, so it is asked for again each time (no-cache: revalidated, never stale).
  app.use('/assets/*', serveStatic({ root, onFound: (_path, c) => c.header('Cache-Control', 'public, max-age=31536000, immutable') }));
  app.use('*', serveStatic({ root, index: 'index.html', onFound: (_path, c) => c.header('Cache-Control', 'no-cache') }));
  app.get('*', async (c) => {
    if (!existsSync(index)) {
      return c.text('The dashboard is not built. Run `npm run build` (npm start does it for you).', 503);
    }
    return c.html(await readFile(index, 'utf8'), 200, { 'Cache-Control': 'no-cache' });
  });
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
}
