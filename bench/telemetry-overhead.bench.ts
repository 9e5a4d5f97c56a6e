/**
 * Telemetry overhead of the service as `npm start` runs it: the built output in child processes, one with
 * the SDK (`--import ./dist/telemetry/register.js`, no OTEL_* variable: spans recorded, not exported) and
 * one without (no `--import`). Runs alternate between the two (off, on, off, on...) so load on the machine
 * hits both alike, in pairs of processes one after another (one process's database and JIT luck moved a
 * single pair's ratio by +-3%); per feed latency it prints the ratio of medians with a bootstrap 95%
 * interval, the median of paired ratios and each pair's ratio.
 * A separate, untimed pass exports to an in-process OTLP receiver to count spans and SQL statements per run.
 *
 * Load (unchanged from the in-process bench): runs of 10 platforms, 3 pages of 20 events each,
 * SCRAPE_CONCURRENCY 5, at 5 ms and 100 ms per feed page; timed runs per arm: 600 in 6 pairs at 5 ms, 150
 * in 3 pairs at 100 ms, each pair after 10 warm-up runs (with 20 runs after 2, as before, the ratio moved
 * by +-4% between invocations on a quiet machine). About 3 minutes at 5 ms, 5 at 100 ms.
 *
 *   npm run bench:telemetry                      # both latencies
 *   BENCH_FEED_LATENCIES_MS=5 BENCH_RUNS=1200 BENCH_PAIRS=12 BENCH_WARMUP=20 npm run bench:telemetry
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

/**
 * Timed runs per arm (BENCH_RUNS), and pairs of processes (one per arm, BENCH_PAIRS) run one after another
 * with an equal share of the runs each, so one process's luck (its database, its JIT) is averaged out. At 5 ms pages a run is ~100 ms
 * and varies by +-15%: 600 runs in 6 pairs bring the 95% interval to about +-2% (150 runs: +-4%).
 */
const runsFor = (latencyMs: number) => Number(process.env.BENCH_RUNS ?? (latencyMs < 50 ? 600 : 150));
const pairsFor = (latencyMs: number) => Number(process.env.BENCH_PAIRS ?? (latencyMs < 50 ? 6 : 3));
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

async function start(arm: Arm, file: string, tag?: string): Promise<Started> {
  const db = await benchDatabase();
  const profile = PROFILE_DIR && tag ? ['--cpu-prof', '--cpu-prof-dir', path.join(PROFILE_DIR, `${arm}-${tag}`)] : [];
  const nodeArgs = [...profile, ...(arm === 'off' ? OFF_ARGS : SERVICE_ARGS)];
  const exportEnv: Record<string, string> = arm === 'export' ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } : {};
  const armEnv = arm === 'off' ? {} : ON_ENV;
  const service = await spawnService({ DATABASE_URL: db.url, PLATFORMS_FILE: file, SCRAPE_CONCURRENCY: '5', ...armEnv, ...exportEnv }, { nodeArgs });
  return { service, drop: () => db.drop(), seen: service.logs.length };
}

/**
 * 95% interval of the ratio of medians (arm / off), by bootstrap: runs are resampled with replacement
 * within each pair of processes, 2,000 times.
 */
function bootstrapRatio(pairs: [number[], number[]][]): [number, number] {
  const pick = (values: number[]) => values.map(() => values[Math.floor(Math.random() * values.length)]!);
  const ratios: number[] = [];
  for (let round = 0; round < 2_000; round += 1) {
    const on = pairs.flatMap(([arm]) => pick(arm));
    const off = pairs.flatMap(([, base]) => pick(base));
    ratios.push(median(on) / median(off));
  }
  ratios.sort((a, b) => a - b);
  return [ratios[Math.floor(ratios.length * 0.025)]!, ratios[Math.floor(ratios.length * 0.975)]!];
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
async function countPerRun(file: string): Promise<Record<string, number>> {
  const started = await start('export', file);
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
/** Monotonic microseconds of each pair's timed runs, by profile directory suffix (`<latency>ms-pair<n>`). */
const timedWindows = new Map<string, { from: number; to: number }>();
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
for (const latencyMs of LATENCIES) {
  const { file, feeds } = await simulatedPlatforms(10, { latencyMs, pages: 3, eventsPerPage: 20 });
  /** Per pair of processes, per arm, the wall time of each timed run. */
  const pairs: Map<Arm, number[]>[] = [];
  const pairCount = pairsFor(latencyMs);
  for (let pair = 0; pair < pairCount; pair += 1) {
    const tag = `${latencyMs}ms-pair${pair + 1}`;
    const arms = new Map<Arm, Started>();
    const walls = new Map<Arm, number[]>(ARMS.map((arm) => [arm, []]));
    const timed = Math.round(runsFor(latencyMs) / pairCount);
    try {
      for (const arm of ARMS) arms.set(arm, await start(arm, file, tag));
      for (let index = 0; index < timed + WARMUP; index += 1) {
        if (index === WARMUP) timedWindows.set(tag, { from: monotonicMicros(), to: Infinity });
        // Alternate which arm goes first, so neither always follows the other.
        const order = index % 2 === 0 ? ARMS : [...ARMS].reverse();
        for (const arm of order) {
          const { ms } = await timeRun(arms.get(arm)!);
          if (index >= WARMUP) walls.get(arm)!.push(ms);
        }
      }
      timedWindows.get(tag)!.to = monotonicMicros();
    } finally {
      for (const started of arms.values()) await stop(started);
    }
    pairs.push(walls);
  }
  const counts = await countPerRun(file);
  await feeds.stop();

  const all = (arm: Arm) => pairs.flatMap((walls) => walls.get(arm)!);
  const total = all('off').length;
  const lines = [
    `feed pages of ${latencyMs} ms, ${total} runs per arm in ${pairCount} pairs of processes (10 platforms x 3 pages x 20 events, concurrency 5), alternated:`,
  ];
  for (const arm of ARMS) lines.push(`  ${arm.padEnd(6)} median ${median(all(arm)).toFixed(1)} ms per run`);
  for (const arm of ARMS.filter((candidate) => candidate !== 'off')) {
    const paired = pairs.flatMap((walls) => walls.get(arm)!.map((ms, index) => ms / walls.get('off')![index]!));
    const [low, high] = bootstrapRatio(pairs.map((walls) => [walls.get(arm)!, walls.get('off')!]));
    lines.push(
      `  telemetry overhead (${arm}): ${(median(all(arm)) / median(all('off'))).toFixed(3)}x ratio of medians ` +
        `(95% bootstrap interval ${low.toFixed(3)}-${high.toFixed(3)}), ${median(paired).toFixed(3)}x median of paired ratios`,
    );
    lines.push(`    per pair of processes: ${pairs.map((walls) => (median(walls.get(arm)!) / median(walls.get('off')!)).toFixed(3)).join(', ')}`);
  }
  for (const [what, value] of Object.entries(counts)) lines.push(`  ${what}: ${value}`);
  console.log(lines.join('\n'));
  results.push(lines.join('\n'));
}
await receiver.close();

if (PROFILE_DIR) {
  // Main threads only (the loader hook's worker thread writes its own file, busy at start-up only), timed runs only.
  for (const dir of readdirSync(PROFILE_DIR)) {
    const window = timedWindows.get(dir.slice(dir.indexOf('-') + 1));
    const files = readdirSync(path.join(PROFILE_DIR, dir)).filter((name) => /\.0\.\d+\.cpuprofile$/.test(name));
    for (const name of files) console.log(`\nCPU profile ${dir}/${name} (timed runs)\n${summariseProfile(path.join(PROFILE_DIR, dir, name), 25, window)}`);
  }
}
console.log(`\n${results.join('\n\n')}`);
