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
 * kill -9 of the built service mid-run, then a start on the same database: the new process takes the run
 * over at start-up and scrapes the step again (attempt 2); killed again, the next start fails the step
 * `interrupted` (its attempts used) and nothing stays active. Once on an external PostgreSQL, once on the
 * embedded one (whose server the SIGKILL orphans: the next start stops it before starting its own).
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
  await waitMidStep(service, run.id, 1);
  return run;
}

/** Waits until `service` is scraping the run's step, on `attempt` (60 pages of 500 ms: mid-way whenever the kill comes); resolves to the step. */
async function waitMidStep(service: ChildService, runId: number, attempt: number): Promise<RunDetail['steps'][number]> {
  return waitFor(async () => {
    const detail = (await (await fetch(`${service.url}/api/runs/${runId}`)).json()) as RunDetail;
    const step = detail.steps[0]!;
    return detail.status === 'running' && step.status === 'running' && step.attempt === attempt ? step : undefined;
  }, { timeoutMs: 20_000, what: `the run to be mid-way through attempt ${attempt}` });
}

const ownerIdOf = (service: ChildService) => String(service.logs.find((line) => line.msg === 'oddswatch listening')!.owner_id);

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
  it('on an external PostgreSQL: the next start takes the run over and scrapes the step again; killed again, the step fails interrupted, nothing stays running', async () => {
    const env = { DATABASE_URL: db.url };
    const first = await start(env);
    const run = await startRunAndWaitRunning(first);
    const { next, recoveryMs } = await killAndRestart(first, env);
    const [owned] = await db.query<{ owner_id: string }>('select owner_id from runs where id = $1', [run.id]);
    expect(owned!.owner_id).toBe(ownerIdOf(next));
    expect(await waitMidStep(next, run.id, 2)).toMatchObject({ replica: ownerIdOf(next), attempt: 2 });
    expect(next.logs.find((line) => line.msg.startsWith('run taken over'))).toMatchObject({ run_id: run.id, dead_owner_id: ownerIdOf(first), steps_unfinished: ['northwind'] });

    const { next: last, recoveryMs: secondRecoveryMs } = await killAndRestart(next, env);
    // Its job's third delivery, on the new process, fails the step instead of scraping it a third time.
    const row = await waitFor(async () => {
      const [current] = await db.query<{ status: string; failure_reason: string | null }>('select status, failure_reason from runs where id = $1', [run.id]);
      return current?.status === 'failed' ? current : undefined;
    }, { timeoutMs: 15_000, what: 'the run to fail' });
    expect(row).toEqual({ status: 'failed', failure_reason: 'all_platforms_failed' });
    const [step] = await db.query<{ status: string; reason: string; attempt: number; error: string }>('select status, reason, attempt, error from platform_steps where run_id = $1', [run.id]);
    expect(step).toEqual({ status: 'failed', reason: 'interrupted', attempt: 2, error: 'interrupted: the replica scraping it stopped at each of its 2 attempts' });
    expect(await db.query("select id from runs where status in ('pending', 'running')")).toEqual([]);
    // The service serves a new run after the recovery.
    const again = await fetch(`${last.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: ['northwind'] }) });
    expect(again.status).toBe(202);
    recordFault({
      name: 'kill -9 mid-run (external PostgreSQL)',
      endState: 'run in flight taken over at the next start (step scraped again, attempt 2); killed again: the step failed interrupted (2 of 2 attempts), the run failed all_platforms_failed, no run left pending/running, a new run accepted',
      figure: { restart_to_recovered_ms: recoveryMs, second_restart_to_recovered_ms: secondRecoveryMs },
    });
  });

  it('on the embedded PostgreSQL: the orphaned server is stopped, the next start takes the run over', async () => {
    embeddedDir = mkdtempSync(path.join(tmpdir(), 'oddswatch-kill-embedded-'));
    // The embedded server runs as the `postgres` user when we are root: it must reach its data directory.
    chmodSync(embeddedDir, 0o755);
    const dataDir = path.join(embeddedDir, 'pg');
    // A short shutdown grace: the run taken over is still scraping when the test stops the service.
    const env = { EMBEDDED_PG_DIR: dataDir, SHUTDOWN_GRACE_MS: '1000' };
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
    const [row] = await query<{ owner_id: string }>(url, 'select owner_id from runs where id = $1', [run.id]);
    expect(row!.owner_id).toBe(ownerIdOf(next));
    expect(await waitMidStep(next, run.id, 2)).toMatchObject({ replica: ownerIdOf(next) });
    const exit = await next.stop('SIGTERM');
    expect(exit.code).toBe(0);
    // Shutdown gave the run its grace, then ended it (the embedded server stops with the service: its log says so).
    expect(next.logs.some((line) => line.run_id === run.id && /^run (completed|partial|failed)/.test(line.msg))).toBe(true);
    recordFault({
      name: 'kill -9 mid-run (embedded PostgreSQL)',
      endState: 'orphaned embedded server stopped at the next start, run in flight taken over (step scraped again, attempt 2), ended at the graceful stop, no run left pending/running',
      figure: { restart_to_recovered_ms: recoveryMs },
    });
  });
});
