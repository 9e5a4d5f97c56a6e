import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { FAST_FEEDS } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-embedded-'));
chmodSync(dir, 0o755); // the embedded server runs as the postgres user when tests run as root
const dataDir = path.join(dir, 'postgres');
const running: ChildService[] = [];
afterAll(async () => {
  for (const child of running) await child.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** PIDs of PostgreSQL servers started on our data directory. */
function postgresProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-f', `postgres -D ${dataDir}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('embedded PostgreSQL (no DATABASE_URL)', () => {
  it('starts, scrapes to completed, stops cleanly on SIGTERM, and keeps its data across restarts', async () => {
    const env = { EMBEDDED_PG_DIR: dataDir, SIM_FEEDS: FAST_FEEDS };
    const first = await spawnService(env, { timeoutMs: 90_000 });
    running.push(first);
    expect(first.logs.find((line) => line.embedded_database !== undefined)!.embedded_database).toBe(true);
    expect(postgresProcesses().length).toBeGreaterThan(0);

    const created = (await (await fetch(`${first.url}/api/runs`, { method: 'POST' })).json()) as RunDetail;
    const run = await waitFor(async () => {
      const current = (await (await fetch(`${first.url}/api/runs/${created.id}`)).json()) as RunDetail;
      return current.status === 'completed' ? current : undefined;
    }, { timeoutMs: 30_000, what: 'the run to complete' });
    expect(run.steps).toHaveLength(6);

    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(() => postgresProcesses().length === 0, { timeoutMs: 15_000, what: 'the embedded PostgreSQL to stop' });

    const second = await spawnService(env, { timeoutMs: 90_000 });
    running.push(second);
    const again = (await (await fetch(`${second.url}/api/runs/${created.id}`)).json()) as RunDetail;
    expect(again).toMatchObject({ id: created.id, status: 'completed' });
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(() => postgresProcesses().length === 0, { timeoutMs: 15_000, what: 'the embedded PostgreSQL to stop' });
  }, 180_000);

  it('stops a PostgreSQL orphaned by a killed process before starting its own', async () => {
    const env = { EMBEDDED_PG_DIR: dataDir, SIM_FEEDS: FAST_FEEDS };
    const crashed = await spawnService(env, { timeoutMs: 90_000 });
    running.push(crashed);
    await crashed.stop('SIGKILL');
    const recovered = await spawnService(env, { timeoutMs: 90_000 });
    running.push(recovered);
    expect((await fetch(`${recovered.url}/readyz`)).status).toBe(200);
    expect(await recovered.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(() => postgresProcesses().length === 0, { timeoutMs: 15_000, what: 'the embedded PostgreSQL to stop' });
  }, 180_000);
});
