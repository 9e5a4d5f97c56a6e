/**
 * Step queue figures (steps as jobs of pg-boss, shared by the replicas):
 *  1. Dispatch overhead: a 6-platform run (PLATFORMS_FILE over the simulated feeds, their own latencies) with its
 *     steps sent through the queue, against the same run with its steps handed straight to the replica's step
 *     handler (RunOverrides.dispatch = 'in-process', as before steps were jobs), alternated ABBA on two servers in
 *     this process, each on its own database: medians and their ratio (goal <= 1.05).
 *  2. Capacity: a run of 60 platforms that each take 1 s (2 pages of 500 ms), every replica with 10 HTTP slots
 *     (SCRAPE_CONCURRENCY=10), on one replica, then two, then three (replicas are servers in this process on one
 *     database: the scrapes wait on the network, not the CPU): the run's wall time against the ideal
 *     60 / (10 x replicas) s, and how many steps each replica took.
 * Failover (kill -9 of a replica holding steps) needs separate processes: tests/integration/replicas-steps.test.ts
 * measures it and prints the figure.
 * Usage: npm run bench:queue (BENCH_DATABASE_URL, default the local PostgreSQL; BENCH_ROUNDS, default 10).
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';
import type { RunDetail } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median, simulatedPlatforms } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));

const serverOn = (databaseUrl: string, platformsFile: string, env: Record<string, string> = {}, dispatch: 'queue' | 'in-process' = 'queue') =>
  startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: databaseUrl, PLATFORMS_FILE: platformsFile, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent', ...env }), {
    logger: silent,
    overrides: { dispatch },
  });

async function runToEnd(server: RunningServer, platforms?: string[]): Promise<RunDetail> {
  const created = await server.runs.start({ trigger: 'api', ...(platforms ? { platforms } : {}) });
  await server.runs.inFlight.list().find((entry) => entry.runId === created.id)?.done;
  return (await server.runs.reads.detailOf(created.id))!;
}

async function dispatchOverhead(): Promise<void> {
  const { file, feeds } = await simulatedPlatforms(6, {});
  const [queueDb, directDb] = [await benchDatabase(), await benchDatabase()];
  const queued = await serverOn(queueDb.url, file);
  const direct = await serverOn(directDb.url, file, {}, 'in-process');
  try {
    await runToEnd(queued);
    await runToEnd(direct);
    const times = { queued: [] as number[], direct: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? (['queued', 'direct'] as const) : (['direct', 'queued'] as const);
      for (const mode of order) {
        const run = await runToEnd(mode === 'queued' ? queued : direct);
        if (run.status !== 'completed') console.log(`  (${mode} run ${run.id} ended ${run.status})`);
        times[mode].push(run.durationMs!);
      }
    }
    const ratio = median(times.queued) / median(times.direct);
    console.log(`dispatch: 6-platform run through the queue ${median(times.queued)} ms, handed out in process ${median(times.direct)} ms (medians of ${ROUNDS}, ABBA): ratio ${ratio.toFixed(3)}x (goal <= 1.05)`);
  } finally {
    await queued.stop();
    await direct.stop();
    await feeds.stop();
    rmSync(file, { force: true });
    await queueDb.drop();
    await directDb.drop();
  }
}

async function capacity(): Promise<void> {
  const { file, feeds } = await simulatedPlatforms(60, { latencyMs: 500, pages: 2, eventsPerPage: 4 });
  const db = await benchDatabase();
  const replicas: RunningServer[] = [];
  try {
    for (let count = 1; count <= 3; count += 1) {
      replicas.push(await serverOn(db.url, file, { SCRAPE_CONCURRENCY: '10' }));
      await runToEnd(replicas[0]!); // warm-up with this many replicas
      const walls: number[] = [];
      let spread = '';
      for (let round = 0; round < 3; round += 1) {
        const run = await runToEnd(replicas[0]!);
        if (run.status !== 'completed') console.log(`  (run ${run.id} ended ${run.status})`);
        walls.push(run.durationMs!);
        spread = replicas.map((replica, index) => `${String.fromCharCode(65 + index)} ${run.steps.filter((step) => step.replica === replica.ownerId).length}`).join(', ');
      }
      const idealMs = (60 / (10 * count)) * 1_000;
      console.log(`capacity: ${count} replica(s) x 10 slots, 60 platforms of 1 s: run ${median(walls)} ms (median of 3), ideal ${idealMs} ms, ratio to ideal ${(median(walls) / idealMs).toFixed(2)}x; steps taken (last run): ${spread}`);
    }
  } finally {
    for (const replica of replicas.reverse()) await replica.stop();
    await feeds.stop();
    rmSync(file, { force: true });
    await db.drop();
  }
}

await dispatchOverhead();
await capacity();
