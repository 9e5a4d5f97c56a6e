/**
 * What the data-quality checks cost a run, every other setting at its default: runs of 60 simulated
 * platforms (PLATFORMS_FILE over the six simulated feeds, each its own bookmaker with its own prices, so each
 * selection has 60 prices to find a consensus in) on two services, QUALITY_CHECKS true and false, each on its
 * own database, alternating which goes first (ABBA); medians of the run's wall time (created to finished),
 * the ratio of checks on to off (goal <= 1.05x), the runner's time including the outliers and coverage judged
 * right after the run, and the SQL statements per run (every round trip of this process's pg clients).
 * Usage: npm run bench:quality (BENCH_DATABASE_URL, default the local PostgreSQL; BENCH_ROUNDS, default 6;
 * BENCH_PLATFORMS, default 60).
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import type { RunDetail } from '../src/shared/contract.js';
import { startServer, type RunningServer } from '../src/server.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median, simulatedPlatforms, statementCount } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const PLATFORMS = Number(process.env.BENCH_PLATFORMS ?? 60);
const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));

const statements = statementCount();

/** A run to its end, and the runner's own time: until the outliers and coverage judged right after the run are written. */
async function runToEnd(server: RunningServer): Promise<{ run: RunDetail; statements: number; runnerMs: number }> {
  const before = statements();
  const started = performance.now();
  const created = await server.runs.start({ trigger: 'api', platforms: server.platforms.names });
  await server.runs.inFlight.list().find((entry) => entry.runId === created.id)?.done;
  const runnerMs = performance.now() - started;
  return { run: (await server.runs.reads.detailOf(created.id))!, statements: statements() - before, runnerMs };
}

const { file, feeds } = await simulatedPlatforms(PLATFORMS, {});
const arms = { on: 'true', off: 'false' } as const;
const servers: Partial<Record<keyof typeof arms, { server: RunningServer; drop(): Promise<void> }>> = {};
try {
  for (const [arm, checks] of Object.entries(arms) as [keyof typeof arms, string][]) {
    const db = await benchDatabase();
    const server = await startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, PLATFORMS_FILE: file, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent', QUALITY_CHECKS: checks }), { logger: silent });
    servers[arm] = { server, drop: () => db.drop() };
    // Warm-up, and enough scrapes for the frozen check's runs of unchanged prices to mean something.
    for (let index = 0; index < 2; index += 1) await runToEnd(server);
  }
  const walls = { on: [] as number[], off: [] as number[] };
  const counts = { on: [] as number[], off: [] as number[] };
  const runners = { on: [] as number[], off: [] as number[] };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const order: (keyof typeof arms)[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    const taken: Partial<Record<keyof typeof arms, number>> = {};
    for (const arm of order) {
      const { run, statements: count, runnerMs } = await runToEnd(servers[arm]!.server);
      runners[arm].push(runnerMs);
      if (run.status !== 'completed') console.log(`  (${arm}: run ${run.id} ended ${run.status})`);
      walls[arm].push(run.durationMs!);
      counts[arm].push(count);
      taken[arm] = run.durationMs!;
    }
    ratios.push(taken.on! / taken.off!);
  }
  console.log(`${PLATFORMS} platforms, ${ROUNDS} rounds (ABBA), medians:`);
  console.log(`  run with the quality checks ${median(walls.on)} ms, without ${median(walls.off)} ms: ${median(ratios).toFixed(3)}x (goal <= 1.05x; per round ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')})`);
  console.log(`  the runner, until the outliers and coverage judged right after the run are written: with ${median(runners.on).toFixed(0)} ms, without ${median(runners.off).toFixed(0)} ms (${(median(runners.on) / median(runners.off)).toFixed(3)}x)`);
  console.log(`  SQL statements per run: with ${median(counts.on)}, without ${median(counts.off)} (${median(counts.on) - median(counts.off)} added, ${((median(counts.on) - median(counts.off)) / PLATFORMS).toFixed(1)} per platform)`);
} finally {
  for (const entry of Object.values(servers)) {
    await entry.server.stop();
    await entry.drop();
  }
  await feeds.stop();
  rmSync(file, { force: true });
}
