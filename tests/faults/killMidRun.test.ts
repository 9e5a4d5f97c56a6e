import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * kill -9 of the built service mid-run, then a start on the same database: start-up recovery fails the
 * run as interrupted and nothing stays active. Once on an external PostgreSQL, once on the embedded one
 * (whose server the SIGKILL orphans: the next start stops it before starting its own).
 */
// A run of 60 pages at 500 ms: still mid-way whenever the kill comes.
const SLOW_FEEDS = JSON.stringify({ '*': { latencyMs: 500, pages: 60 } });
let db: TestDatabase;
let embeddedDir: string | undefined;
const services: ChildService[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const service of services) await service.stop('SIGTERM');
  await db?.drop();
  if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<ChildService> {
  const service = await spawnService({ SIM_FEEDS: SLOW_FEEDS, ...env }, { timeoutMs: 90_000 });
  services.push(service);
  return service;
}

async function startRunAndWaitRunning(service: ChildService): Promise<RunDetail> {
  const created = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['northwind'] }) });
  expect(created.status).toBe(202);
  const run = (await created.json()) as RunDetail;
  await waitFor(async () => {
    const detail = (await (await fetch(`${service.url}/api/runs/${run.id}`)).json()) as RunDetail;
    return detail.status === 'running' && detail.eventsFound > 0;
  }, { timeoutMs: 20_000, what: 'the run to be mid-way' });
  return run;
}

/** SIGKILL, then a new process on the same database; ms from the new spawn to listening (recovery done). */
async function killAndRestart(service: ChildService, env: Record<string, string>): Promise<{ next: ChildService; recoveryMs: number }> {
  const exit = await service.stop('SIGKILL');
  expect(exit.signal).toBe('SIGKILL');
  const spawned = performance.now();
  const next = await start(env);
  return { next, recoveryMs: Math.round(performance.now() - spawned) };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('kill -9 mid-run, then restart', () => {
  it('on an external PostgreSQL: the run ends failed/interrupted, nothing stays running', async () => {
    const env = { DATABASE_URL: db.url };
    const first = await start(env);
    const run = await startRunAndWaitRunning(first);
    const { next, recoveryMs } = await killAndRestart(first, env);
    const [row] = await db.query<{ status: string; failure_reason: string | null }>('select status, failure_reason from runs where id = $1', [run.id]);
    expect(row).toEqual({ status: 'failed', failure_reason: 'interrupted' });
    expect(await db.query("select id from runs where status in ('pending', 'running')")).toEqual([]);
    // The service serves a new run after the recovery.
    const again = await fetch(`${next.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['northwind'] }) });
    expect(again.status).toBe(202);
    recordFault({
      name: 'kill -9 mid-run (external PostgreSQL)',
      endState: 'run in flight failed/interrupted by start-up recovery, no run left pending/running, a new run accepted',
      figure: { restart_to_recovered_ms: recoveryMs },
    });
  });

  it('on the embedded PostgreSQL: the orphaned server is stopped, the run ends failed/interrupted', async () => {
    embeddedDir = mkdtempSync(path.join(tmpdir(), 'oddswatch-kill-embedded-'));
    // The embedded server runs as the `postgres` user when we are root: it must reach its data directory.
    chmodSync(embeddedDir, 0o755);
    const dataDir = path.join(embeddedDir, 'pg');
    const env = { EMBEDDED_PG_DIR: dataDir };
    const first = await start(env);
    const run = await startRunAndWaitRunning(first);
    const orphanPid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const { next, recoveryMs } = await killAndRestart(first, env);
    // The orphan was stopped, not left beside the new server.
    expect(next.logs.some((line) => line.msg === 'stopping an embedded PostgreSQL orphaned by a previous process' && line.orphan_pid === orphanPid)).toBe(true);
    expect(() => process.kill(orphanPid, 0)).toThrow();
    const started = next.logs.find((line) => line.msg === 'embedded PostgreSQL started');
    const password = readFileSync(`${dataDir}.password`, 'utf8').trim();
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${Number(started?.port)}/oddswatch`;
    const [row] = await query<{ status: string; failure_reason: string | null }>(url, 'select status, failure_reason from runs where id = $1', [run.id]);
    expect(row).toEqual({ status: 'failed', failure_reason: 'interrupted' });
    expect(await query(url, "select id from runs where status in ('pending', 'running')")).toEqual([]);
    const exit = await next.stop('SIGTERM');
    expect(exit.code).toBe(0);
    recordFault({
      name: 'kill -9 mid-run (embedded PostgreSQL)',
      endState: 'orphaned embedded server stopped at the next start, run in flight failed/interrupted, no run left pending/running',
      figure: { restart_to_recovered_ms: recoveryMs },
    });
  });
});
