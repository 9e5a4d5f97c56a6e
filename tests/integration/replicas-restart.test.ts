import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwawayPostgres.js';
import { leaderGauges, startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Replicas on a throwaway PostgreSQL cluster of the test's own (never the shared server): a restart of
 * PostgreSQL under three replicas, and replicas started and stopped repeatedly while the leadership is
 * sampled.
 */
let pgServer: ThrowawayPostgres;
const replicas: Replica[] = [];

beforeAll(async () => {
  pgServer = await startThrowawayPostgres();
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
  await pgServer?.destroy();
});

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

describe('replicas and PostgreSQL restarts', () => {
  it('PostgreSQL restarted under three replicas: all recover without a restart of their own, one leader remains', async () => {
    for (const name of ['A', 'B', 'C']) replicas.push(await startReplica(name, pgServer.url));
    await waitFor(async () => (sum(await leaderGauges(replicas)) === 1 ? true : undefined), { what: 'one leader' });
    const restartedAt = Date.now();
    await pgServer.restart('fast');
    const ready = await waitFor(async () => {
      const answers = await Promise.all(replicas.map((replica) => replica.api('/readyz').then((response) => response.status, () => 0)));
      return answers.every((status) => status === 200) ? answers : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, what: 'every replica ready again' });
    expect(ready).toEqual([200, 200, 200]);
    await waitFor(async () => (sum(await leaderGauges(replicas)) === 1 ? true : undefined), { timeoutMs: 15_000, what: 'one leader again' });
    console.info(`[replicas] three replicas ready with one leader ${Date.now() - restartedAt} ms after pg_ctl restart began`);
    // Each replica owns runs again (its liveness lock is back) and serves events from the others.
    for (const replica of replicas) {
      const run = await waitFor(() => startRunOn(replica).catch(() => undefined), { timeoutMs: 15_000, intervalMs: 200, what: `a run accepted by ${replica.name}` });
      const ended = await waitForRunStatus(replicas[(replicas.indexOf(replica) + 1) % replicas.length]!, run.id, ['completed', 'partial', 'failed']);
      expect(ended.status).toBe('completed');
    }
    for (const replica of replicas) expect(replica.process.exitCode).toBeNull();
  }, 120_000);

  it('churn: replicas started and stopped repeatedly; at no sampled moment do two replicas lead', async () => {
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(sum(await leaderGauges(replicas.filter((replica) => replica.process.exitCode === null && replica.process.signalCode === null))));
        await delay(50);
      }
    })();
    for (let round = 0; round < 4; round++) {
      const victim = replicas.shift()!;
      await victim.stop(round % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
      replicas.push(await startReplica(`N${round}`, pgServer.url));
    }
    await waitFor(async () => (sum(await leaderGauges(replicas)) === 1 ? true : undefined), { timeoutMs: 10_000, what: 'one leader after the churn' });
    sampling = false;
    await sampler;
    console.info(`[replicas] churn: ${samples.length} samples, max leaders at once ${Math.max(...samples)}`);
    expect(samples.length).toBeGreaterThan(10);
    expect(Math.max(...samples)).toBe(1);
  }, 180_000);
});
