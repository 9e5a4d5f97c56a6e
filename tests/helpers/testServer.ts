import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';
import { waitFor } from './waitFor.js';
import { TERMINAL_RUN_STATUSES, type RunDetail, type RunStatus } from '../../src/shared/contract.js';

export interface LogLine {
  level: string;
  msg: string;
  run_id?: number;
  trace_id?: string;
  [key: string]: unknown;
}

export interface TestServer extends RunningServer {
  db: TestDatabase;
  logs: LogLine[];
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  waitForRun(id: number, statuses: RunStatus[], timeoutMs?: number): Promise<RunDetail>;
  close(): Promise<void>;
}

/** Fast simulated feeds so tests finish quickly; a test slows one down through server.platforms.simulated. */
export const FAST_FEEDS = JSON.stringify({ '*': { latencyMs: 20, pages: 2, eventsPerPage: 5 } });

/**
 * Heartbeats, staleness, run limits and the connection grace shrunk to fractions of a second, for lifecycle
 * tests: each makes a fault happen sooner. The scrape pool and the platform timeout keep their defaults, so
 * these tests see runs as users do (every platform in flight at once).
 */
export const FAST_LIFECYCLE = {
  HEARTBEAT_INTERVAL_MS: '100',
  STALE_AFTER_MS: '1000',
  MAX_RUN_DURATION_MS: '1500',
  CONNECTION_GRACE_MS: '300',
} as const;

/** The real service on a loopback port with its own database; scheduler off unless a test turns it on. */
export async function startTestServer(env: Record<string, string> = {}, db?: TestDatabase): Promise<TestServer> {
  const database = db ?? (await createTestDatabase());
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    SCHEDULER_ENABLED: 'false',
    SIM_FEEDS: FAST_FEEDS,
    LOG_LEVEL: 'debug',
    ...env,
  });
  const server = await startServer(config, { logger: createLogger(config.logLevel, sink) });
  const api = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${server.url}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  };
  return {
    ...server,
    db: database,
    logs,
    api,
    async waitForRun(id, statuses, timeoutMs = 15_000) {
      return waitFor(
        async () => {
          const run = (await (await api(`/api/runs/${id}`)).json()) as RunDetail;
          if (!statuses.includes(run.status)) return undefined;
          // An ended run is done once its runner is: counted, logged, its span ended.
          const ended = (TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status);
          return ended && server.runs.inFlight.has(id) ? undefined : run;
        },
        { timeoutMs, what: `run ${id} to become ${statuses.join('/')}` },
      );
    },
    async close() {
      await server.stop();
      if (!db) await database.drop();
    },
  };
}
