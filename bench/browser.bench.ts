/**
 * Browser figures, every setting at its default (BROWSER_MAX_PAGES from this machine):
 *  1. A run of 20 browser platforms, all the simulated single-page bookmaker kestrel (capture mode, its
 *     pages at the simulator's latency), through the service's run engine: the run's wall time against the
 *     slowest platform scraped alone, and against a bare playwright-core script that loads the same 20 pages
 *     with the same concurrency and waits for the same responses, in this same bench (rounds alternate which
 *     goes first; medians). CPU seconds (this process, which also serves the simulated pages, plus the
 *     browser's processes) and peak memory of the browser's processes (RSS summed and PSS), per page.
 *  2. 500 pages in a row through one pool at its defaults (BROWSER_RECYCLE_PAGES 100): the browser's memory
 *     after the first page and after the last, its processes, and the pages the pool still holds (0).
 * Usage: npm run bench:browser (BENCH_DATABASE_URL, default the local PostgreSQL; BENCH_ROUNDS, default 3;
 * BENCH_ROW_PAGES, default 500; BENCH_PART, 1 or 2 for one part only: part 2 takes ~17 min on 2 cores).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { IGNORE_OBSERVATIONS } from '../src/platforms/adapter.js';
import { browserTreeMemory, BrowserPool, defaultMaxPages, findChromium } from '../src/platforms/browser/browserPool.js';
import { createAdapter } from '../src/platforms/createAdapter.js';
import { parsePlatformEntry } from '../src/platforms/platformsFile.js';
import { SimulatedFeeds } from '../src/platforms/simulatedFeeds.js';
import type { RunDetail } from '../src/shared/contract.js';
import { startServer, type RunningServer } from '../src/server.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median } from './support.js';

const PLATFORMS = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROW_PAGES = Number(process.env.BENCH_ROW_PAGES ?? 500);
const SIMULATED = 'kestrel';
const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
const CLOCK_TICKS = 100; // USER_HZ: /proc's CPU times are in these

if (!findChromium(undefined)) {
  console.error('no Chromium on PATH: this bench needs one (apt-get install chromium)');
  process.exit(1);
}

/** The processes under this process (the browsers' and their renderers'): how many, and their user + system CPU seconds. */
function browserProcesses(): { count: number; cpuSeconds: number } {
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      cpu.set(Number(name), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // ended while read
    }
  }
  let count = 0;
  let cpuSeconds = 0;
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    count += 1;
    cpuSeconds += cpu.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return { count, cpuSeconds };
}
const browserCpuSeconds = () => browserProcesses().cpuSeconds;

const ownCpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/** Samples the browser processes' memory, one reading after another (each reads every process's smaps_rollup, off the event loop), until stopped; resolves the peaks (RSS summed, PSS summed) in bytes. */
function samplePeak(): { stop(): Promise<{ rss: number; pss: number }> } {
  const peak = { rss: 0, pss: 0 };
  let stopped = false;
  const sample = async () => {
    peak.rss = Math.max(peak.rss, (await browserTreeMemory(process.pid, 'rss')) ?? 0);
    peak.pss = Math.max(peak.pss, (await browserTreeMemory(process.pid)) ?? 0);
  };
  const loop = (async () => {
    while (!stopped) {
      await sample();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await sample();
      return peak;
    },
  };
}

interface Measured {
  wallMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  peakPssBytes: number;
}

async function measure(work: () => Promise<unknown>): Promise<Measured> {
  const cpuBefore = ownCpuSeconds() + browserCpuSeconds();
  const peak = samplePeak();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  // The browser's CPU is read while its processes live (a bare script's browser is closed inside `work`).
  const peaks = await peak.stop();
  return { wallMs, cpuSeconds: ownCpuSeconds() + browserCpuSeconds() - cpuBefore, peakRssBytes: peaks.rss, peakPssBytes: peaks.pss };
}

async function runToEnd(server: RunningServer, platforms: string[]): Promise<RunDetail> {
  const created = await server.runs.start({ trigger: 'api', platforms });
  await server.runs.inFlight.list().find((entry) => entry.runId === created.id)?.done;
  return (await server.runs.reads.detailOf(created.id))!;
}

/** The same 20 pages as a minimal playwright-core script: one browser, `concurrency` pages at once, each done once its captured responses came. */
async function bareScript(url: string, responses: number, concurrency: number): Promise<Measured> {
  let cpuInside = 0;
  const measured = await measure(async () => {
    const browser = await chromium.launch({ executablePath: findChromium(undefined), headless: true });
    let next = 0;
    const worker = async () => {
      while (next < PLATFORMS) {
        next += 1;
        const context = await browser.newContext();
        const page = await context.newPage();
        let seen = 0;
        const all = new Promise<void>((resolve) => {
          page.on('response', (response) => {
            if (!response.url().includes('/api/prematch')) return;
            void response.body().then(() => {
              seen += 1;
              if (seen === responses) resolve();
            });
          });
        });
        await page.goto(url, { waitUntil: 'domcontentloaded' });
        await all;
        await context.close();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    cpuInside = browserCpuSeconds();
    await browser.close();
  });
  // The browser's processes are gone by the end of `measure`: count their CPU as read just before closing.
  return { ...measured, cpuSeconds: measured.cpuSeconds + cpuInside };
}

async function runFigures(sim: SimulatedFeeds): Promise<void> {
  const entry = sim.entryOf(SIMULATED) as { url: string };
  const pages = sim.knobs.get(SIMULATED)!.pages;
  const file = path.join(tmpdir(), `oddswatch-bench-browser-${process.pid}.json`);
  const names = Array.from({ length: PLATFORMS }, (_, index) => `${SIMULATED}-${String(index + 1).padStart(2, '0')}`);
  writeFileSync(file, JSON.stringify(names.map((name) => ({ ...sim.entryOf(SIMULATED), name }))));
  const db = await benchDatabase();
  const server = await startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, PLATFORMS_FILE: file, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent' }), { logger: silent });
  const concurrency = server.platforms.browsers.maxPages;
  try {
    await runToEnd(server, names); // warm-up: the browser started, code paths compiled
    const rows: { run: number; alone: number; bare: number; runCpu: number; bareCpu: number; runPeak: number; barePeak: number; runPss: number; barePss: number }[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      let bare!: Measured;
      let together!: Measured;
      let detail!: RunDetail;
      const oddswatch = async () => {
        together = await measure(async () => (detail = await runToEnd(server, names)));
      };
      const script = async () => {
        bare = await bareScript(entry.url, pages, concurrency);
      };
      if (round % 2 === 0) {
        await oddswatch();
        await script();
      } else {
        await script();
        await oddswatch();
      }
      if (detail.status !== 'completed') {
        const failed = detail.steps.filter((step) => step.status === 'failed').map((step) => `${step.platform} ${step.reason}: ${step.error}`);
        console.log(`  (run ${detail.id} ended ${detail.status}${failed.length > 0 ? `; ${failed.join('; ')}` : ''})`);
      }
      const slowest = detail.steps.reduce((a, b) => ((a.durationMs ?? 0) >= (b.durationMs ?? 0) ? a : b));
      const alone = await runToEnd(server, [slowest.platform]);
      rows.push({ run: together.wallMs, alone: alone.durationMs!, bare: bare.wallMs, runCpu: together.cpuSeconds, bareCpu: bare.cpuSeconds, runPeak: together.peakRssBytes, barePeak: bare.peakRssBytes, runPss: together.peakPssBytes, barePss: bare.peakPssBytes });
    }
    const pick = (key: keyof (typeof rows)[number]) => median(rows.map((row) => row[key]));
    const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);
    console.log(`${PLATFORMS} browser platforms (${SIMULATED}, ${pages} captured responses a page), BROWSER_MAX_PAGES ${concurrency}, ${ROUNDS} rounds, medians:`);
    console.log(`  run ${pick('run').toFixed(0)} ms; slowest platform alone ${pick('alone').toFixed(0)} ms (${(pick('run') / pick('alone')).toFixed(2)}x)`);
    console.log(`  bare playwright-core script ${pick('bare').toFixed(0)} ms; oddswatch / bare ${median(rows.map((row) => row.run / row.bare)).toFixed(2)}x (goal <= 1.15x)`);
    console.log(`  CPU per page: oddswatch ${(pick('runCpu') / PLATFORMS).toFixed(3)} s, bare ${(pick('bareCpu') / PLATFORMS).toFixed(3)} s (this process serves the pages for both)`);
    console.log(`  browser peak RSS (summed): oddswatch ${mb(pick('runPeak'))} MB (${mb(pick('runPeak') / concurrency)} MB per open page), bare ${mb(pick('barePeak'))} MB`);
    console.log(`  browser peak PSS (what the memory bound reads): oddswatch ${mb(pick('runPss'))} MB (${mb(pick('runPss') / concurrency)} MB per open page), bare ${mb(pick('barePss'))} MB`);
  } finally {
    await server.stop();
    rmSync(file, { force: true });
    await db.drop();
  }
}

async function pagesInARow(sim: SimulatedFeeds): Promise<void> {
  const config = loadConfig({});
  const pool = new BrowserPool({ executablePath: undefined, maxPages: defaultMaxPages(), recyclePages: config.browserRecyclePages, maxMemoryBytes: config.browserMaxMemoryMb * 1024 ** 2, logger: silent });
  const restarts: string[] = [];
  pool.attach({ browserPageClosed() {}, browserRestarted: (cause) => void restarts.push(cause), observeBrowser() {} });
  const adapter = createAdapter(parsePlatformEntry(sim.entryOf(SIMULATED), 30_000, sim.env), pool);
  const processes = async () => ({ rss: await browserTreeMemory(process.pid, 'rss'), pss: await browserTreeMemory(process.pid), count: browserProcesses().count });
  try {
    let first: Awaited<ReturnType<typeof processes>> | undefined;
    let peak = 0;
    const started = performance.now();
    for (let page = 1; page <= ROW_PAGES; page += 1) {
      await adapter.scrape(AbortSignal.timeout(30_000), async () => {}, IGNORE_OBSERVATIONS);
      peak = Math.max(peak, (await browserTreeMemory(process.pid)) ?? 0);
      if (page === 1) first = await processes();
    }
    const last = await processes();
    const mb = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1024 ** 2).toFixed(0)} MB`);
    console.log(`${ROW_PAGES} pages in a row through one pool (BROWSER_RECYCLE_PAGES ${config.browserRecyclePages}): ${((performance.now() - started) / ROW_PAGES).toFixed(0)} ms a page`);
    console.log(`  browser RSS (summed) after page 1 ${mb(first?.rss ?? null)}, after page ${ROW_PAGES} ${mb(last.rss)}; PSS after page 1 ${mb(first?.pss ?? null)}, after page ${ROW_PAGES} ${mb(last.pss)}, peak ${mb(peak)}; restarts: ${restarts.length} (${[...new Set(restarts)].join(', ') || 'none'})`);
    console.log(`  processes under this one after page 1 ${first?.count}, after page ${ROW_PAGES} ${last.count}; pages the pool holds at the end: ${pool.pagesOpen()} open, ${pool.pagesQueued()} queued`);
  } finally {
    await pool.close();
  }
}

const sim = new SimulatedFeeds();
await sim.start();
try {
  console.log(`node ${process.version}; ${(await import('node:os')).availableParallelism()} cores; Chromium ${findChromium(undefined)}`);
  const part = process.env.BENCH_PART;
  if (part !== '2') await runFigures(sim);
  if (part !== '1') await pagesInARow(sim);
} finally {
  await sim.stop();
}
