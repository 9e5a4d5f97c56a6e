import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SIMULATED_BOOKMAKERS } from '../../src/platforms/simulatedFeeds.js';
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
    expect(run.steps.map((step) => step.platform).sort()).toEqual(Object.keys(SIMULATED_BOOKMAKERS).sort());

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
    expect(recovered.logs.find((line) => line.msg === 'stopping an embedded PostgreSQL orphaned by a previous process')).toMatchObject({ orphan_pid: expect.any(Number) });
    expect(await recovered.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(() => postgresProcesses().length === 0, { timeoutMs: 15_000, what: 'the embedded PostgreSQL to stop' });
  }, 180_000);

  it('never signals an unrelated process named by a stale postmaster.pid: the file is stale, start-up goes on', async () => {
    const env = { EMBEDDED_PG_DIR: dataDir, SIM_FEEDS: FAST_FEEDS };
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      const init = await spawnService(env, { timeoutMs: 90_000 });
      running.push(init);
      expect(await init.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    // An unrelated process that survives SIGINT (the old code waited 30 s for it, then failed).
    const bystander = spawn(process.execPath, ['-e', "process.on('SIGINT', () => console.log('SIGINT')); console.log('ready'); setInterval(() => {}, 1000)"], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    bystander.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      await waitFor(() => output.includes('ready'), { timeoutMs: 10_000, what: 'the bystander to start' });
      writeFileSync(path.join(dataDir, 'postmaster.pid'), `${bystander.pid}\n${dataDir}\n1700000000\n5999\n\n127.0.0.1\n  1234  5678\nready   \n`);
      const started = Date.now();
      const service = await spawnService(env, { timeoutMs: 90_000 });
      running.push(service);
      const startupMs = Date.now() - started;
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      expect(bystander.exitCode).toBeNull();
      expect(() => process.kill(bystander.pid!, 0)).not.toThrow();
      expect(output).not.toContain('SIGINT');
      const warning = service.logs.find((line) => String(line.msg).startsWith('postmaster.pid names a process'));
      expect(warning).toMatchObject({ orphan_pid: bystander.pid, pid: service.process.pid });
      expect(startupMs).toBeLessThan(25_000);
      expect(await service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      bystander.kill('SIGKILL');
    }
  }, 180_000);
});
