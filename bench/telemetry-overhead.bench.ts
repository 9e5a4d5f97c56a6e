/**
 * Telemetry overhead of the service as `npm start` runs it: the built output in child processes, one with
 * the SDK (`--import ./dist/telemetry/register.js`, no OTEL_* variable: spans recorded, not exported) and
 * one without (no `--import`). Runs alternate between the two (off, on, off, on...) so load on the machine
 * hits both alike; per feed latency it prints the ratio of medians and the median of paired ratios.
 * A separate, untimed pass exports to an in-process OTLP receiver to count spans and SQL statements per run.
 *
 * Load (unchanged from the in-process bench): runs of 10 platforms, 3 pages of 20 events each,
 * SCRAPE_CONCURRENCY 5, at 5 ms and 100 ms per feed page; 100 timed runs per arm after 10 warm-up runs
 * (with 20 after 2, as before, the ratio moved by +-4% between invocations on a quiet machine).
 *
 *   npm run bench:telemetry                      # both latencies
 *   BENCH_FEED_LATENCIES_MS=5 BENCH_RUNS=150 BENCH_WARMUP=20 npm run bench:telemetry
 *   BENCH_PROFILE=1 npm run bench:telemetry      # also a CPU profile of each child (see bench/cpuProfile.ts)
 *   BENCH_ARMS=off,on,export                     # adds an arm exporting over OTLP/HTTP to a local receiver
 *   BENCH_ON_ENV='{"OTEL_NODE_DISABLED_INSTRUMENTATIONS":"pg"}'  # extra environment of the SDK arms, to attribute cost
 */
import { execSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { RunDetail } from '../src/shared/contract.js';
import { ROOT, SERVICE_ARGS, spawnService, type ChildService } from '../tests/helpers/childService.js';
import { startOtlpReceiver } from '../tests/helpers/otlpReceiver.js';
import { waitFor } from '../tests/helpers/waitFor.js';
import { summariseProfile } from './cpuProfile.js';
import { benchDatabase, median, simulatedPlatforms } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 100);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const COUNTED_RUNS = 5;
const LATENCIES = (process.env.BENCH_FEED_LATENCIES_MS ?? '5,100').split(',').map(Number);
const ARMS = (process.env.BENCH_ARMS ?? 'off,on').split(',') as Arm[];
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.join(ROOT, 'test-artifacts', 'profiles') : undefined;
const OFF_ARGS = SERVICE_ARGS.filter((arg, index, all) => arg !== '--import' && all[index - 1] !== '--import');
/** Extra environment for the arms with the SDK, to attribute cost (e.g. {"OTEL_NODE_DISABLED_INSTRUMENTATIONS":"pg"}). */
const ON_ENV = JSON.parse(process.env.BENCH_ON_ENV ?? '{}') as Record<string, string>;
const TERMINAL = /^run (completed|partial|failed|connection_failed)/;

type Arm = 'off' | 'on' | 'export';

execSync('node scripts/build-if-stale.mjs --service-only', { cwd: ROOT, stdio: 'inherit' });
if (PROFILE_DIR) rmSync(PROFILE_DIR, { recursive: true, force: true });
const receiver = await startOtlpReceiver();

interface Started {
  service: ChildService;
  drop(): Promise<void>;
  /** Index in service.logs from which to look for the next run's terminal line. */
  seen: number;
}

async function start(arm: Arm, file: string, latencyMs: number, profiled = true): Promise<Started> {
  const db = await benchDatabase();
  const profile = PROFILE_DIR && profiled ? ['--cpu-prof', '--cpu-prof-dir', path.join(PROFILE_DIR, `${arm}-${latencyMs}ms`)] : [];
  const nodeArgs = [...profile, ...(arm === 'off' ? OFF_ARGS : SERVICE_ARGS)];
  const exportEnv: Record<string, string> = arm === 'export' ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } : {};
  const armEnv = arm === 'off' ? {} : ON_ENV;
  const service = await spawnService({ DATABASE_URL: db.url, PLATFORMS_FILE: file, SCRAPE_CONCURRENCY: '5', ...armEnv, ...exportEnv }, { nodeArgs });
  return { service, drop: () => db.drop(), seen: service.logs.length };
}

/** Wall time of one run: POST until the service logs its terminal status (no polling load on the service). */
async function timeRun(started: Started): Promise<{ ms: number; run: RunDetail }> {
  const { service } = started;
  const begin = performance.now();
  const run = (await (await fetch(`${service.url}/api/runs`, { method: 'POST' })).json()) as RunDetail;
  await waitFor(() => {
    for (; started.seen < service.logs.length; started.seen += 1) {
      const line = service.logs[started.seen]!;
      if (line.run_id === run.id && TERMINAL.test(line.msg)) return true;
    }
    return false;
  }, { timeoutMs: 120_000, intervalMs: 1, what: `run ${run.id} to end` });
  return { ms: performance.now() - begin, run };
}

async function stop(started: Started): Promise<void> {
  await started.service.stop('SIGTERM');
  await started.drop();
}

/** Spans and SQL statements of a run, from a service exporting to the receiver (not timed). */
async function countPerRun(file: string, latencyMs: number): Promise<Record<string, number>> {
  const started = await start('export', file, latencyMs, false);
  const traces: string[] = [];
  let before: number | undefined;
  try {
    const warmup = (await timeRun(started)).run.traceId; // not counted: its spans and those before it
    await waitFor(() => receiver.spans.some((span) => span.traceId === warmup && span.name === 'scrape.run'), { timeoutMs: 20_000, what: 'the warm-up run span' });
    before = receiver.spans.length;
    for (let index = 0; index < COUNTED_RUNS; index += 1) traces.push((await timeRun(started)).run.traceId!);
    await waitFor(() => traces.every((id) => receiver.spans.some((span) => span.traceId === id && span.name === 'scrape.run')), { timeoutMs: 20_000, what: 'the run spans' });
  } finally {
    await stop(started); // flushes the batch processor
  }
  const spans = receiver.spans.slice(before ?? 0);
  const isPg = (span: (typeof spans)[number]) => span.attributes['db.system'] === 'postgresql' || span.attributes['db.system.name'] === 'postgresql';
  const inRuns = spans.filter((span) => traces.includes(span.traceId));
  const per = (count: number) => Math.round((count / COUNTED_RUNS) * 10) / 10;
  const outside = spans.filter((span) => !traces.includes(span.traceId));
  const names = new Map<string, number>();
  for (const span of outside) names.set(`${span.name}${span.parentSpanId ? '' : ' (root)'}`, (names.get(`${span.name}${span.parentSpanId ? '' : ' (root)'}`) ?? 0) + 1);
  const topOutside = [...names.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, count]) => `${name} ${per(count)}`).join(', ');
  return {
    'spans in the run trace': per(inRuns.length),
    '  of which pg (the run SQL statements)': per(inRuns.filter(isPg).length),
    '  of which HTTP client (feed pages)': per(inRuns.filter((span) => span.kind === 3 && !isPg(span)).length),
    'spans outside run traces (requests, background), per run': per(spans.length - inRuns.length),
    '  of which pg': per(outside.filter(isPg).length),
    [`  most frequent: ${topOutside}`]: per(outside.length),
  };
}

const results: string[] = [];
const timedWindows = new Map<number, { from: number; to: number }>();
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
for (const latencyMs of LATENCIES) {
  const { file, feeds } = await simulatedPlatforms(10, { latencyMs, pages: 3, eventsPerPage: 20 });
  const arms = new Map<Arm, Started>();
  const walls = new Map<Arm, number[]>(ARMS.map((arm) => [arm, []]));
  try {
    for (const arm of ARMS) arms.set(arm, await start(arm, file, latencyMs));
    for (let index = 0; index < RUNS + WARMUP; index += 1) {
      if (index === WARMUP) timedWindows.set(latencyMs, { from: monotonicMicros(), to: Infinity });
      // Alternate which arm goes first, so neither always follows the other.
      const order = index % 2 === 0 ? ARMS : [...ARMS].reverse();
      for (const arm of order) {
        const { ms } = await timeRun(arms.get(arm)!);
        if (index >= WARMUP) walls.get(arm)!.push(ms);
      }
    }
    timedWindows.get(latencyMs)!.to = monotonicMicros();
  } finally {
    for (const started of arms.values()) await stop(started);
  }
  const counts = await countPerRun(file, latencyMs);
  await feeds.stop();

  const off = walls.get('off')!;
  const lines = [`feed pages of ${latencyMs} ms, ${RUNS} runs per arm (10 platforms x 3 pages x 20 events, concurrency 5), alternated:`];
  for (const arm of ARMS) lines.push(`  ${arm.padEnd(6)} median ${median(walls.get(arm)!).toFixed(1)} ms per run`);
  for (const arm of ARMS.filter((candidate) => candidate !== 'off')) {
    const on = walls.get(arm)!;
    const paired = on.map((ms, index) => ms / off[index]!);
    lines.push(`  telemetry overhead (${arm}): ${(median(on) / median(off)).toFixed(3)}x ratio of medians, ${median(paired).toFixed(3)}x median of paired ratios`);
  }
  for (const [what, value] of Object.entries(counts)) lines.push(`  ${what}: ${value}`);
  console.log(lines.join('\n'));
  results.push(lines.join('\n'));
}
await receiver.close();

if (PROFILE_DIR) {
  // Main threads only (the loader hook's worker thread writes its own file, busy at start-up only), timed runs only.
  for (const dir of readdirSync(PROFILE_DIR)) {
    const window = timedWindows.get(Number(/-(\d+)ms$/.exec(dir)?.[1]));
    const files = readdirSync(path.join(PROFILE_DIR, dir)).filter((name) => /\.0\.\d+\.cpuprofile$/.test(name));
    for (const name of files) console.log(`\nCPU profile ${dir}/${name} (timed runs)\n${summariseProfile(path.join(PROFILE_DIR, dir, name), 25, window)}`);
  }
}
console.log(`\n${results.join('\n\n')}`);
