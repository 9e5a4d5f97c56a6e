import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTreeMemory } from '../../src/platforms/browser/browserPool.js';
import { SIMULATED_BOOKMAKERS } from '../../src/platforms/simulatedFeeds.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * No Chromium process outlives the service, through the default start with its simulated browser
 * platforms mid-run: not after SIGTERM (the shutdown closes the browser), not after SIGKILL (Chromium reads
 * its end of the pipe to the dead process and exits). Chromium runs in a process group of its own (so a
 * signal to the service's group would not reach it), so its processes are found as the service's
 * descendants while it lives, and followed by PID after it is gone. Chromium's crash handlers detach
 * themselves (their parent is init): those that appeared after the service started are followed too.
 */
const BROWSER_PLATFORMS = Object.entries(SIMULATED_BOOKMAKERS)
  .filter(([, platform]) => platform.kind === 'browser')
  .map(([name]) => name);
// Slow pages: the run is mid-way, its browser pages open, whenever the signal comes.
const SLOW = JSON.stringify(Object.fromEntries(BROWSER_PLATFORMS.map((name) => [name, { latencyMs: 1_000, pages: 30 }])));

let db: TestDatabase;
const services: ChildService[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const service of services) await service.stop('SIGKILL').catch(() => undefined);
  await db?.drop();
});

/** Chromium processes under `pid`, at any depth. */
function chromiumDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of listProcesses()) {
    const list = children.get(line.ppid) ?? [];
    list.push(line.pid);
    children.set(line.ppid, list);
  }
  const found: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (isChromium(current)) found.push(current);
    stack.push(...(children.get(current) ?? []));
  }
  return found;
}

function listProcesses(): { pid: number; ppid: number }[] {
  const entries: { pid: number; ppid: number }[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      entries.push({ pid: Number(name), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) });
    } catch {
      // ended while read
    }
  }
  return entries;
}

function isChromium(pid: number): boolean {
  try {
    return /chrom/i.test(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return false;
  }
}

/** Chromium's crash handlers on the machine (detached: their parent is init, not the browser). */
function crashHandlers(): Set<number> {
  return new Set(listProcesses().map((entry) => entry.pid).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`).includes('crashpad');
    } catch {
      return false;
    }
  }));
}

/** Alive: present and not a zombie (an orphan's zombie is dead, waiting for whoever reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function midRun(): Promise<{ service: ChildService; chromium: number[]; handlers: number[] }> {
  const handlersBefore = crashHandlers();
  const service = await spawnService({ DATABASE_URL: db.url, SIM_FEEDS: SLOW });
  services.push(service);
  const created = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms: BROWSER_PLATFORMS }) });
  expect(created.status).toBe(202);
  const run = (await created.json()) as RunDetail;
  await waitFor(async () => (await MetricsSnapshot.scrape(`${service.url}/metrics`)).value('oddswatch_browser_pages_open') === BROWSER_PLATFORMS.length, {
    timeoutMs: 30_000,
    what: 'a browser page open for every browser platform',
  });
  // The pool counts a page from its slot; its renderer comes a moment later.
  const chromium = await waitFor(() => {
    const found = chromiumDescendants(service.process.pid!);
    return found.length >= 3 ? found : undefined;
  }, { timeoutMs: 15_000, what: 'the browser, its zygote and a renderer' });
  expect(((await (await fetch(`${service.url}/api/runs/${run.id}`)).json()) as RunDetail).status).toBe('running');
  expect(await browserTreeMemory(service.process.pid!)).toBeGreaterThan(0);
  const handlers = [...crashHandlers()].filter((pid) => !handlersBefore.has(pid));
  return { service, chromium, handlers };
}

describe('no Chromium outlives the service', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('after %s mid-run', async (signal) => {
    expect(BROWSER_PLATFORMS.length).toBeGreaterThan(0);
    const { service, chromium, handlers } = await midRun();
    const followed = [...chromium, ...handlers];
    const stopped = performance.now();
    await service.stop(signal);
    await waitFor(() => followed.every((pid) => !alive(pid)), { timeoutMs: 15_000, what: `every Chromium process to exit after ${signal}` });
    const goneMs = Math.round(performance.now() - stopped);
    recordFault({
      name: `browser processes after ${signal}`,
      endState: `${chromium.length} Chromium processes of the service and ${handlers.length} crash handlers mid-run, none alive ${goneMs} ms after ${signal}`,
      figure: { chromium_processes: chromium.length, crash_handlers: handlers.length, all_gone_ms: goneMs },
    });
  });
});
