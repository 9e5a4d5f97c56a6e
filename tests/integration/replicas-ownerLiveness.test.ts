import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OwnerLiveness } from '../../src/replicas/ownerLiveness.js';
import { capturingLogger, terminateBackends } from '../helpers/replicas.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwawayPostgres.js';
import { waitFor } from '../helpers/waitFor.js';

// A cluster of its own: these tests restart and stop PostgreSQL.
let cluster: ThrowawayPostgres;
let held: OwnerLiveness[] = [];

beforeAll(async () => {
  cluster = await startThrowawayPostgres();
}, 120_000);
afterEach(async () => {
  await Promise.all(held.map((liveness) => liveness.release()));
  held = [];
});
afterAll(async () => {
  await cluster?.destroy();
});

async function hold(ownerId: string) {
  const events: string[] = [];
  const log = capturingLogger('warn');
  const liveness = await OwnerLiveness.hold(cluster.url, ownerId, {
    logger: log.logger,
    onLost: () => events.push('lost'),
    onRegained: () => events.push('regained'),
    checkIntervalMs: 200,
    backoffInitialMs: 50,
    backoffMaxMs: 500,
  });
  held.push(liveness);
  return { liveness, events, lines: log.lines };
}

describe('owner liveness that survives its connection', () => {
  it('holds the lock again after PostgreSQL restarts, and another process sees the owner alive', async () => {
    const owner = await hold('owner-a');
    const other = await hold('owner-b');
    expect(owner.liveness.isHeld()).toBe(true);
    expect(await other.liveness.isAlive('owner-a')).toBe(true);
    expect(await other.liveness.isAlive('owner-nobody')).toBe(false);

    const restartedAt = performance.now();
    await cluster.restart('fast');
    await waitFor(() => owner.events.includes('lost'), { timeoutMs: 5_000, what: 'the loss to be reported' });
    await waitFor(() => owner.liveness.isHeld() && other.liveness.isHeld(), { timeoutMs: 15_000, what: 'both locks held again' });
    console.log(`owner liveness lock held again ${(performance.now() - restartedAt).toFixed(0)} ms after the restart began`);
    expect(owner.events).toEqual(['lost', 'regained']);
    expect(await other.liveness.isAlive('owner-a')).toBe(true);
    expect(await owner.liveness.isAlive('owner-b')).toBe(true);
    expect(owner.lines.some((line) => line.level === 40 && String(line.msg).includes('lock lost'))).toBe(true);
  });

  it('reports that it cannot hold the lock while PostgreSQL is down, and holds it again when it is back', async () => {
    const owner = await hold('owner-down');
    await cluster.stop('immediate');
    try {
      await waitFor(() => !owner.liveness.isHeld(), { timeoutMs: 5_000, what: 'isHeld to turn false' });
      expect(owner.events).toEqual(['lost']);
      await expect(owner.liveness.isAlive('someone-else')).rejects.toThrow(/unavailable/);
    } finally {
      await cluster.start();
    }
    await waitFor(() => owner.liveness.isHeld(), { timeoutMs: 15_000, what: 'the lock held again' });
    expect(owner.events).toEqual(['lost', 'regained']);
  });

  it('takes the lock back after its backend is terminated; after release the owner is dead to others', async () => {
    const owner = await hold('owner-terminated');
    const other = await hold('owner-watcher');
    expect(await terminateBackends(cluster.url, 'oddswatch-owner-owner-terminated')).toBe(1);
    await waitFor(() => owner.events.join() === 'lost,regained', { timeoutMs: 10_000, what: 'lost then regained' });
    expect(await other.liveness.isAlive('owner-terminated')).toBe(true);
    await owner.liveness.release();
    expect(owner.liveness.isHeld()).toBe(false);
    expect(await other.liveness.isAlive('owner-terminated')).toBe(false);
  });
});
