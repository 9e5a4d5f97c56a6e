import pg from 'pg';
import { spawnService, type ChildService } from './childService.js';
import { waitFor } from './waitFor.js';
import type { RunDetail, RunStatus } from '../../src/shared/contract.js';

/** Short coordination intervals so failover fits in a test; the defaults are what docs/replicas.md states. */
export const FAST_REPLICAS = {
  LEADER_RETRY_MS: '300',
  PRESENCE_REFRESH_MS: '200',
  ORPHAN_CHECK_INTERVAL_MS: '300',
} as const;

/**
 * SIM_FEEDS for runs whose every platform takes `pages` x `latencyMs`: the odds API answers in one request
 * whatever its pages, so that request alone takes as long.
 */
export const slowFeeds = (latencyMs: number, pages: number, eventsPerPage: number) =>
  JSON.stringify({ '*': { latencyMs, pages, eventsPerPage }, oddsline: { latencyMs: latencyMs * pages } });

/**
 * Runs of a few seconds (~2.2 s: every platform in flight at once, 18 pages of 120 ms each): long enough
 * to watch, kill or cut something mid-run. The feeds are slowed, never the scrape pool: replicas run with
 * its defaults, as users run them.
 */
export const SLOW_FEEDS = slowFeeds(120, 18, 4);

export interface Replica extends ChildService {
  name: string;
  ownerId: string;
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

/** One built service process sharing `databaseUrl` with the others (a replica). */
export async function startReplica(name: string, databaseUrl: string, env: Record<string, string> = {}): Promise<Replica> {
  const child = await spawnService({ DATABASE_URL: databaseUrl, SIM_FEEDS: SLOW_FEEDS, ...FAST_REPLICAS, ...env });
  const listening = child.logs.find((line) => line.msg === 'oddswatch listening')!;
  return {
    ...child,
    name,
    ownerId: String(listening.owner_id),
    api: (path, init = {}) => {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(child.url + path, { ...rest, headers, body: json === undefined ? rest.body : JSON.stringify(json) });
    },
  };
}

export async function startRunOn(replica: Replica, body: Record<string, unknown> = {}): Promise<RunDetail> {
  const response = await replica.api('/api/runs', { method: 'POST', json: body });
  if (response.status !== 202) throw new Error(`POST /api/runs on ${replica.name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as RunDetail;
}

export async function waitForRunStatus(replica: Replica, runId: number, statuses: RunStatus[], timeoutMs = 30_000): Promise<RunDetail> {
  return waitFor(
    async () => {
      const response = await replica.api(`/api/runs/${runId}`);
      const run = (await response.json()) as RunDetail;
      return statuses.includes(run.status) ? run : undefined;
    },
    { timeoutMs, intervalMs: 50, what: `run ${runId} to be ${statuses.join('/')} on ${replica.name}` },
  );
}

/** `oddswatch_scheduler_leader` of each replica (scraped from /metrics). */
export async function leaderGauges(replicas: Replica[]): Promise<number[]> {
  return Promise.all(
    replicas.map(async (replica) => {
      // A replica stopped mid-read may cut the body as well as refuse the connection; either reads as 0.
      const text = await fetch(`${replica.url}/metrics`)
        .then((response) => response.text())
        .catch(() => '');
      const match = /^oddswatch_scheduler_leader(?:\{[^}]*\})? (\d+)/m.exec(text);
      return match ? Number(match[1]) : 0;
    }),
  );
}

/** Sessions of the replicas as PostgreSQL sees them (application_name prefix `oddswatch-`). */
export async function sessions(databaseUrl: string, prefix: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(`select application_name as name from pg_stat_activity where application_name like $1`, [`${prefix}%`]);
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}
