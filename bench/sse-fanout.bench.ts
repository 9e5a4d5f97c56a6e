/**
 * SSE fan-out: the built service (`GET /api/events`, a real run of the default simulated bookmakers)
 * against a minimal node:http server writing the same events to the same number of event-stream
 * responses, alternated. Clients are lean raw http.request parsers in their own process, on the same
 * cores as both servers and PostgreSQL. One uncounted warm-up round of each at the first size comes first.
 * Prints what it ran under (runEnvironment.ts) beside its table.
 * Usage: npm run bench:sse   (SSE_BENCH_SIZES=1000,3000 SSE_BENCH_ROUNDS=2 SSE_BENCH_WARMUP=0 SSE_BENCH_PROFILE=dir)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { RunDetail } from '../src/shared/contract.js';
import { buildServiceIfStale, describeEnvironment, sampleLoad } from './runEnvironment.js';
import { benchDatabase, median } from './support.js';
import { collectProfileSummary } from './sse-profile.js';

const ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const SIZES = (process.env.SSE_BENCH_SIZES ?? '1000,3000,5000').split(',').map(Number);
const ROUNDS = Number(process.env.SSE_BENCH_ROUNDS ?? 2);
const WARMUP = process.env.SSE_BENCH_WARMUP !== '0';
const PROFILE_DIR = process.env.SSE_BENCH_PROFILE;
const CONNECT_CONCURRENCY = 100;

type Probe = { cpuUs: number; rss: number; loopP99Ms: number; loopMaxMs: number };
interface Target {
  name: 'service' | 'raw';
  url: string;
  child: ChildProcess;
  probe(): Promise<Probe>;
}

function withProbe(child: ChildProcess): Target['probe'] {
  const waiting: ((probe: Probe) => void)[] = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('SSE_PROBE ')) waiting.shift()?.(JSON.parse(line.slice(10)) as Probe);
      else if (line.trim()) process.stderr.write(`[${child.pid}] ${line}\n`);
    }
  });
  return () =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.kill('SIGUSR2');
    });
}

const once = <T>(child: ChildProcess, key: string): Promise<T> =>
  new Promise((resolve) => {
    const listener = (message: Record<string, unknown>) => {
      if (!(key in message)) return;
      child.off('message', listener);
      resolve(message[key] as T);
    };
    child.on('message', listener);
  });

async function startService(databaseUrl: string): Promise<Target> {
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', './bench/sse-probe.mjs', '--import', './dist/telemetry/register.js', 'dist/main.js'], {
    cwd: ROOT,
    // Every bench client shares 127.0.0.1, so the per-client stream limit (default 20) is lifted; the total
    // limit (SSE_MAX_STREAMS) stays the shipped default, which 5,000 subscribers fit under.
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: databaseUrl, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'info', SSE_MAX_STREAMS_PER_CLIENT: '1000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.includes('"oddswatch listening"')) resolve(String((JSON.parse(line) as { url: string }).url));
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
  });
  return { name: 'service', url, child, probe: withProbe(child) };
}

async function startRaw(): Promise<Target> {
  const child = fork(path.join(ROOT, 'bench/sse-raw-server.ts'), [], { execArgv: ['--import', 'tsx', '--import', './bench/sse-probe.mjs'], cwd: ROOT, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  const port = await once<number>(child, 'port');
  return { name: 'raw', url: `http://127.0.0.1:${port}`, child, probe: withProbe(child) };
}

async function postRun(url: string): Promise<RunDetail> {
  const created = (await (await fetch(`${url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as RunDetail;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const current = (await (await fetch(`${url}/api/runs/${created.id}`)).json()) as RunDetail;
    if (current.finishedAt) return current;
  }
}

async function gauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^oddswatch_sse_subscribers\{stream="global"\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Captures one service run's events (JSON and timing) on one stream, as the raw server's script. */
async function captureSchedule(url: string): Promise<{ delayMs: number; type: string; json: string }[]> {
  const schedule: { delayMs: number; type: string; json: string }[] = [];
  const started = Date.now();
  const controller = new AbortController();
  const response = await fetch(`${url}/api/events`, { signal: controller.signal });
  const reading = (async () => {
    const decoder = new TextDecoder();
    let carry = '';
    for await (const chunk of response.body!) {
      carry += decoder.decode(chunk as Uint8Array, { stream: true });
      let end;
      while ((end = carry.indexOf('\n\n')) !== -1) {
        const frame = carry.slice(0, end);
        carry = carry.slice(end + 2);
        const type = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (type && data) schedule.push({ delayMs: Date.now() - started, type, json: data.replace(/^\{"id":\d+/, '{"id":0').replace(/"at":"[^"]+"/, '"at":"AT"') });
      }
    }
  })().catch(() => undefined);
  await postRun(url);
  await new Promise((resolve) => setTimeout(resolve, 200));
  controller.abort();
  await reading;
  const first = schedule[0]?.delayMs ?? 0;
  return schedule.map((event) => ({ ...event, delayMs: event.delayMs - first }));
}

/** Busy and total jiffies of the whole machine (/proc/stat), to show whether the cores were saturated. */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

interface Sample {
  connectMs: number;
  p50: number;
  p99: number;
  writeP50: number;
  writeP99: number;
  cpuPerSubEventUs: number;
  rssPerSubKb: number;
  runMs: number;
  lost: number;
  duplicates: number;
  gaugeExact: boolean;
  loopP99Ms: number;
  /** Share of all cores busy while the service's run (or the raw server's schedule) was delivered. */
  machineBusy: number;
}

const loadBefore = loadavg();
const build = buildServiceIfStale(ROOT);
const db = await benchDatabase();
const sql = new pg.Client({ connectionString: db.url });
const clients = fork(path.join(ROOT, 'bench/sse-clients.ts'), [], { execArgv: ['--import', 'tsx'], cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await once(clients, 'ready');
const service = await startService(db.url);
const raw = await startRaw();
await sql.connect();

try {
  const schedule = await captureSchedule(service.url);
  const sizes = schedule.map((event) => event.json.length);
  console.log(`one run: ${schedule.length} events over ${schedule.at(-1)!.delayMs} ms, ${Math.min(...sizes)} to ${Math.max(...sizes)} bytes of JSON`);
  const baselineCpu: number[] = [];
  const baselineRun: number[] = [];
  const measureAlone = async () => {
    const before = await service.probe();
    const run = await postRun(service.url);
    const after = await service.probe();
    baselineCpu.push(after.cpuUs - before.cpuUs);
    baselineRun.push(run.durationMs!);
  };
  await measureAlone();

  const measure = async (target: Target, count: number): Promise<Sample> => {
    const idle = await target.probe();
    clients.send({ connect: { url: `${target.url}${target.name === 'service' ? '/api/events' : '/'}`, count, concurrency: CONNECT_CONCURRENCY } });
    const connectMs = await once<number>(clients, 'connectMs');
    const connected = await target.probe();
    const gaugeOpen = target.name === 'service' ? await gauge(target.url) : count;
    const cpuBefore = machineCpu();
    let runMs: number;
    let expected: number;
    if (target.name === 'service') {
      const run = await postRun(target.url);
      runMs = run.durationMs!;
      let row: { n: number; finished: boolean } | undefined;
      while (!(row = (await sql.query<{ n: number; finished: boolean }>(`select count(*)::int as n, bool_or(type = 'run.finished') as finished from run_events where run_id = $1`, [run.id])).rows[0])?.finished) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expected = row.n;
    } else {
      target.child.send({ publish: schedule });
      await once(target.child, 'published');
      runMs = schedule.at(-1)!.delayMs;
      expected = schedule.length;
    }
    clients.send({ waitFor: { count: expected, timeoutMs: 10_000 } }); // the last frames may still be on their way
    await once(clients, 'waited');
    const cpuAfter = machineCpu();
    const done = await target.probe();
    clients.send({ report: true });
    const report = await once<{ clients: number; minEvents: number; maxEvents: number; duplicates: number; outOfOrder: number; differing: number; p50: number; p99: number; writeP50: number; writeP99: number }>(clients, 'report');
    clients.send({ close: true });
    await once(clients, 'closed');
    let gaugeClosed = 0;
    if (target.name === 'service') {
      const deadline = Date.now() + 10_000;
      while ((gaugeClosed = await gauge(target.url)) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const runCpu = done.cpuUs - connected.cpuUs - (target.name === 'service' ? median(baselineCpu) : 0);
    return {
      connectMs,
      p50: report.p50,
      p99: report.p99,
      writeP50: report.writeP50,
      writeP99: report.writeP99,
      cpuPerSubEventUs: Math.max(0, runCpu) / (count * expected),
      rssPerSubKb: (connected.rss - idle.rss) / 1024 / count,
      runMs,
      lost: count * expected - report.clients * report.minEvents + (report.maxEvents - report.minEvents),
      duplicates: report.duplicates + report.outOfOrder,
      gaugeExact: gaugeOpen === count && gaugeClosed === 0 && report.differing === 0,
      loopP99Ms: done.loopP99Ms,
      machineBusy: (cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total),
    };
  };

  if (WARMUP) {
    for (const target of [raw, service]) await measure(target, SIZES[0]!);
    if (global.gc) global.gc();
  }
  const load = sampleLoad();

  const rows: string[] = [];
  const notes: string[] = [];
  for (const count of SIZES) {
    const samples: Record<'service' | 'raw', Sample[]> = { service: [], raw: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const target of round % 2 === 0 ? [raw, service] : [service, raw]) {
        samples[target.name].push(await measure(target, count));
        if (global.gc) global.gc();
      }
      await measureAlone();
    }
    const med = (name: 'service' | 'raw', key: keyof Sample) => median(samples[name].map((sample) => Number(sample[key])));
    const ratio = (key: keyof Sample) => `${med('service', key).toFixed(key === 'cpuPerSubEventUs' || key === 'rssPerSubKb' ? 1 : 0)} / ${med('raw', key).toFixed(key === 'cpuPerSubEventUs' || key === 'rssPerSubKb' ? 1 : 0)} (${(med('service', key) / med('raw', key)).toFixed(2)}x)`;
    const lost = samples.service.reduce((sum, sample) => sum + sample.lost, 0);
    const dups = samples.service.reduce((sum, sample) => sum + sample.duplicates, 0);
    rows.push(
      `| ${count} | ${ratio('p50')} | ${ratio('p99')} | ${ratio('cpuPerSubEventUs')} | ${ratio('rssPerSubKb')} | ${ratio('connectMs')} | ${(med('service', 'runMs') / median(baselineRun)).toFixed(2)}x (${med('service', 'runMs')} / ${median(baselineRun)} ms) | ${lost} / ${dups} | ${samples.service.every((sample) => sample.gaugeExact) ? 'exact' : 'WRONG'} | ${ratio('loopP99Ms')} | ${med('raw', 'writeP50').toFixed(0)} / ${med('raw', 'writeP99').toFixed(0)} |`,
    );
    console.log(rows.at(-1));
    notes.push(
      `${count}: all ${cpus().length} cores ${(med('service', 'machineBusy') * 100).toFixed(0)}% busy during the service's run with its subscribers (raw: ${(med('raw', 'machineBusy') * 100).toFixed(0)}%)`,
    );
  }
  const loadDuring = load.stop();
  const warmup = WARMUP ? `after one uncounted warm-up round of each at ${SIZES[0]}` : 'no warm-up round';
  const middle = ROUNDS % 2 === 0 ? ' (an even count: the slower of the two middle values)' : '';
  console.log(`\n${ROUNDS} rounds per size, alternated, ${warmup}; medians${middle}; service / raw (ratio)`);
  console.log('| subscribers | p50 delivery ms | p99 delivery ms | CPU µs per subscriber-event | RSS KB per subscriber | connect ms | run with N / without | lost / duplicated | gauge | event-loop delay p99 ms | raw p50 / p99 from write ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(`\n${notes.join('\n')}`);
  console.log(`\nran under:\n${describeEnvironment(ROOT, build, loadBefore, loadDuring).join('\n')}`);
} finally {
  clients.kill();
  raw.child.kill();
  service.child.kill('SIGTERM');
  await new Promise((resolve) => service.child.once('exit', resolve));
  await sql.end();
  await db.drop();
  if (PROFILE_DIR) console.log(await collectProfileSummary(PROFILE_DIR));
}
