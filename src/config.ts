import { z } from 'zod';
import { parseCidr, parseHost } from './net.js';
import { JOB_INTERVAL_SECONDS } from './shared/contract.js';

/**
 * Every setting of oddswatch, read once from the environment (the only module that reads it). Each
 * variable is stated once, in the schema below; `Config` is its output with camelCase keys
 * (SCRAPE_INTERVAL_SECONDS -> scrapeIntervalSeconds).
 */

const intFrom = (min: number, max: number) => {
  const expected = `expected an integer from ${min} to ${max}`;
  return z.coerce.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
};
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A comma-separated list (empty entries dropped), each entry checked. */
const commaList = (valid: (entry: string) => boolean, expected: string) =>
  z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(valid, { error: expected })))
    .default([]);

const configSchema = z
  .object({
    PORT: intFrom(0, 65_535).default(3000),
    HOST: z.string().trim().min(1).optional(),
    /** Host names (optional :port) the service answers to besides IP literals and localhost: DNS rebinding (http/hostHeader.ts). */
    ALLOWED_HOSTS: commaList((entry) => parseHost(entry) !== undefined, 'expected comma-separated host names, each with an optional :port (no scheme or path)').transform(
      (hosts) => hosts.map((host) => host.toLowerCase()),
    ),
    /** Proxies (IPs or CIDRs) whose X-Forwarded-For names the client, for the per-client limits (http/clientAddress.ts). */
    TRUSTED_PROXIES: commaList((entry) => parseCidr(entry) !== undefined, 'expected comma-separated IP addresses or CIDRs (10.0.0.0/8, fd00::/8)'),
    /** Addresses (IPs or CIDRs) a platform may reach although they are link-local or cloud metadata (platforms/forbiddenAddresses.ts). */
    ALLOW_PLATFORM_ADDRESSES: commaList((entry) => parseCidr(entry) !== undefined, 'expected comma-separated IP addresses or CIDRs (169.254.169.254, 169.254.0.0/16, fe80::/10)'),
    METRICS_PORT: intFrom(0, 65_535).optional(),
    /** Slow clients (slowloris): a request's headers must arrive within this, the whole request within the next (408, then closed). */
    HTTP_HEADERS_TIMEOUT_MS: intFrom(1_000, 600_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: intFrom(1_000, 3_600_000).default(30_000),
    DATABASE_URL: optionalString.pipe(
      z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' }).optional(),
    ),
    /** Longest a database statement may run (server statement_timeout; the client gives up 1 s later). */
    DATABASE_STATEMENT_TIMEOUT_MS: intFrom(100, 600_000).default(5_000),
    /** Longest to wait for a new database connection (and, plus the statement timeout, for a pooled one). */
    DATABASE_CONNECT_TIMEOUT_MS: intFrom(100, 600_000).default(3_000),
    EMBEDDED_PG_DIR: z.string().trim().min(1).default('./data/postgres'),
    PLATFORMS_FILE: optionalString,
    SCRAPE_INTERVAL_SECONDS: intFrom(JOB_INTERVAL_SECONDS.min, JOB_INTERVAL_SECONDS.max).default(300),
    /** Ceiling of the autoscaled scrape pool (src/runs/scrapePool.ts): it grows toward it while event-loop delay and heap stay healthy. */
    SCRAPE_CONCURRENCY: intFrom(1, 1024).default(256),
    PLATFORM_TIMEOUT_MS: intFrom(100, 600_000).default(30_000),
    /** The Chromium that `browser` platforms drive (platforms/browser/browserPool.ts); unset: `chromium` on PATH. */
    CHROMIUM_PATH: optionalString,
    /** Browser pages open at once on this replica (queued beyond); unset: from the cores and memory (browserPool.ts `defaultMaxPages`). */
    BROWSER_MAX_PAGES: intFrom(1, 256).optional(),
    /** The browser is closed and started anew after this many pages, and when its processes' memory passes BROWSER_MAX_MEMORY_MB. */
    BROWSER_RECYCLE_PAGES: intFrom(1, 1_000_000).default(100),
    BROWSER_MAX_MEMORY_MB: intFrom(64, 1_048_576).default(1_536),
    HEARTBEAT_INTERVAL_MS: intFrom(50, 600_000).default(5_000),
    STALE_AFTER_MS: intFrom(100, 86_400_000).default(60_000),
    MAX_RUN_DURATION_MS: intFrom(1_000, 86_400_000).default(900_000),
    WATCHDOG_INTERVAL_SECONDS: intFrom(1, JOB_INTERVAL_SECONDS.max).default(120),
    CONNECTION_GRACE_MS: intFrom(0, 600_000).default(15_000),
    SSE_HEARTBEAT_MS: intFrom(100, 600_000).default(15_000),
    SSE_RETRY_MS: intFrom(100, 600_000).default(2_000),
    SSE_SUBSCRIBER_BUFFER: intFrom(1, 100_000).default(1_000),
    SSE_WRITE_TIMEOUT_MS: intFrom(100, 600_000).default(5_000),
    /** Concurrent SSE streams one client address may hold, and all clients together (429 beyond). */
    SSE_MAX_STREAMS_PER_CLIENT: intFrom(1, 1_000_000).default(20),
    SSE_MAX_STREAMS: intFrom(1, 1_000_000).default(10_000),
    GLOBAL_REPLAY_WINDOW: intFrom(1, 1_000_000).default(1_000),
    /** How long a run in flight may take to finish on SIGTERM before it is failed as interrupted. */
    SHUTDOWN_GRACE_MS: intFrom(0, 600_000).default(10_000),
    /** Progress events of runs finished longer ago than this are pruned (the runs themselves stay). */
    EVENT_RETENTION_DAYS: intFrom(1, 3650).default(30),
    /** A successful scrape below this fraction of its platform's usual sporting events is a volume drop (0: never). */
    VOLUME_DROP_FRACTION: z.coerce
      .number({ error: 'expected a number from 0 to 1' })
      .min(0, { error: 'expected a number from 0 to 1' })
      .max(1, { error: 'expected a number from 0 to 1' })
      .default(0.5),
    /** "Usual": the median of that many previous successful scrapes (at least 3, the fewest judged at all). */
    VOLUME_DROP_WINDOW: intFrom(3, 1000).default(10),
    /** A complete market whose overround (1/price summed over its outcomes) is above this is implausible. */
    QUALITY_MAX_OVERROUND: z.coerce
      .number({ error: 'expected a number from 1 to 2' })
      .min(1, { error: 'expected a number from 1 to 2' })
      .max(2, { error: 'expected a number from 1 to 2' })
      .default(1.25),
    /** The data-quality checks each completed step runs (implausible markets, outliers, frozen prices); false skips them. */
    QUALITY_CHECKS: z
      .enum(['true', 'false'], { error: 'expected true or false' })
      .default('true')
      .transform((value) => value === 'true'),
    /** A bookmaker whose prices did not change in this many scrapes in a row, while others' did, is frozen. */
    QUALITY_FROZEN_SCRAPES: intFrom(2, 1000).default(6),
    /** A bookmaker whose share of the matched sporting events falls below this fraction of its usual has a coverage drop. */
    QUALITY_COVERAGE_FRACTION: z.coerce
      .number({ error: 'expected a number from 0 to 1' })
      .min(0, { error: 'expected a number from 0 to 1' })
      .max(1, { error: 'expected a number from 0 to 1' })
      .default(0.8),
    /** "Usual" coverage: the median of that many previous completed steps of the platform. */
    QUALITY_COVERAGE_WINDOW: intFrom(3, 1000).default(10),
    /** A price further than this share from the median of at least 3 other bookmakers' prices for its selection is an outlier. */
    QUALITY_OUTLIER_THRESHOLD: z.coerce
      .number({ error: 'expected a number from 0.01 to 10' })
      .min(0.01, { error: 'expected a number from 0.01 to 10' })
      .max(10, { error: 'expected a number from 0.01 to 10' })
      .default(0.25),
    /** Several replicas (docs/replicas.md): how often a follower tries to lead, presence refreshes, the leader looks for dead owners' runs. */
    LEADER_RETRY_MS: intFrom(100, 60_000).default(2_000),
    PRESENCE_REFRESH_MS: intFrom(100, 60_000).default(2_000),
    ORPHAN_CHECK_INTERVAL_MS: intFrom(100, 600_000).default(3_000),
    SCHEDULER_ENABLED: z
      .enum(['true', 'false'], { error: 'expected true or false' })
      .default('true')
      .transform((value) => value === 'true'),
    OPERATOR_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    TRACE_URL_TEMPLATE: optionalString.pipe(
      z
        .string()
        .refine((value) => value.includes('{traceId}'), 'must contain {traceId}')
        .optional(),
    ),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** JSON overrides of the simulated feeds' knobs (latency, failure rate, hang), see platforms/simulatedFeeds.ts. */
    SIM_FEEDS: optionalString,
  })
  .superRefine((config, ctx) => {
    if (config.HOST && !config.OPERATOR_TOKEN && !isLoopback(config.HOST)) {
      ctx.addIssue({ code: 'custom', path: ['HOST'], message: 'a non-loopback address needs OPERATOR_TOKEN (16+ characters); unset HOST to listen on 127.0.0.1' });
    }
    if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HTTP_HEADERS_TIMEOUT_MS'], message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${config.HTTP_REQUEST_TIMEOUT_MS})` });
    }
    if (config.STALE_AFTER_MS <= config.HEARTBEAT_INTERVAL_MS * 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['STALE_AFTER_MS'],
        message: `must be more than twice HEARTBEAT_INTERVAL_MS (${config.HEARTBEAT_INTERVAL_MS})`,
      });
    }
  })
  .transform((raw) => ({
    ...(Object.fromEntries(Object.entries(raw).map(([key, value]) => [camelCase(key), value])) as CamelKeys<typeof raw>),
    host: raw.HOST ?? (raw.OPERATOR_TOKEN ? '0.0.0.0' : '127.0.0.1'), // closed by default: no token, loopback only
  }));

const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i.test(host);
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}` : Lowercase<S>;
type CamelKeys<T> = { [K in keyof T as CamelCase<K & string>]: T[K] };
const camelCase = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError whose one-line message names every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set" (compose files and shells often pass KEY= for unset values).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      const value = env[variable];
      const shown = value === undefined ? '' : ` (got ${JSON.stringify(variable === 'OPERATOR_TOKEN' ? '***' : value)})`;
      return `${variable}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Defaults for the SDK's own OTEL_* variables: no trace or log export unless an OTLP endpoint is configured
 * (logs are JSON lines on stdout either way), no metrics push (Prometheus pulls /metrics).
 */
export function otelDefaults(env: Record<string, string | undefined>): Record<string, string> {
  const defaults: Record<string, string> = {};
  const otlp = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!env.OTEL_TRACES_EXPORTER) defaults.OTEL_TRACES_EXPORTER = otlp ? 'otlp' : 'none';
  const otlpLogs = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT;
  if (!env.OTEL_LOGS_EXPORTER) defaults.OTEL_LOGS_EXPORTER = otlpLogs ? 'otlp' : 'none';
  if (!env.OTEL_METRICS_EXPORTER) defaults.OTEL_METRICS_EXPORTER = 'none';
  if (!env.OTEL_SERVICE_NAME) defaults.OTEL_SERVICE_NAME = 'oddswatch';
  return defaults;
}
