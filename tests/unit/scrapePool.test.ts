import { describe, expect, it } from 'vitest';
import { requestPacer } from '../../src/platforms/requestPacer.js';
import { ScrapePool, type ProcessHealth } from '../../src/runs/scrapePool.js';
import { waitFor } from '../helpers/waitFor.js';

const health = (overloaded: () => string | null): ProcessHealth => ({ start() {}, stop() {}, overloaded });

/** A task that stays in flight until released, recording how many ran at once. */
function gate() {
  let inFlight = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const task = () =>
    new Promise<void>((resolve) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      releases.push(() => {
        inFlight -= 1;
        resolve();
      });
    });
  return { task, releases, inFlight: () => inFlight, peak: () => peak };
}

describe('the autoscaled scrape pool', () => {
  it('starts at its initial concurrency and grows to the ceiling while work waits and the process is healthy', async () => {
    const pool = new ScrapePool(40, { initial: 4, tickMs: 10, health: health(() => null) });
    const work = gate();
    expect(pool.concurrency).toBe(4);
    const all = Array.from({ length: 100 }, (_, index) => pool.run(`p${index}`, work.task));
    await waitFor(() => work.inFlight() === 40, { timeoutMs: 2_000, what: 'the pool to reach its ceiling' });
    expect(work.peak()).toBe(40);
    let settled = 0;
    for (const task of all) void task.then(() => (settled += 1));
    await waitFor(() => {
      while (work.releases.length) work.releases.shift()!();
      return settled === all.length;
    }, { what: 'every task to run' });
    expect(work.peak()).toBeLessThanOrEqual(40);
  });

  it('shrinks while the process is overloaded and admits no new scrape above the shrunk concurrency', async () => {
    let overloaded: string | null = 'event-loop delay p90 300 ms';
    const pool = new ScrapePool(64, { initial: 32, min: 2, tickMs: 10, health: health(() => overloaded) });
    const work = gate();
    void Array.from({ length: 64 }, (_, index) => pool.run(`p${index}`, work.task));
    await waitFor(() => pool.concurrency === 2, { timeoutMs: 2_000, what: 'the pool to shrink to its minimum' });
    expect(work.peak()).toBe(32);
    while (work.releases.length > 2) work.releases.shift()!();
    await waitFor(() => work.inFlight() === 2, { what: 'only the shrunk concurrency in flight' });
    expect(work.peak()).toBe(32);
    overloaded = null;
    await waitFor(() => {
      while (work.releases.length) work.releases.shift()!();
      return pool.concurrency > 2;
    }, { what: 'the pool to grow again' });
  });

  it('starts a burst after idle at its initial concurrency again, whatever the last burst shrank it to', async () => {
    let overloaded: string | null = 'event-loop delay p90 300 ms';
    const pool = new ScrapePool(64, { initial: 16, min: 2, tickMs: 10, health: health(() => overloaded) });
    const first = gate();
    const burst = Array.from({ length: 4 }, (_, index) => pool.run(`p${index}`, first.task));
    await waitFor(() => pool.concurrency === 2, { timeoutMs: 2_000, what: 'the pool to shrink while overloaded' });
    overloaded = null;
    while (first.releases.length) first.releases.shift()!();
    await Promise.all(burst);
    expect(pool.concurrency).toBe(16);
    const second = gate();
    void Array.from({ length: 16 }, (_, index) => pool.run(`q${index}`, second.task));
    await waitFor(() => second.inFlight() === 16, { what: 'the next burst to start sixteen at once' });
    while (second.releases.length) second.releases.shift()!();
  });

  it('never scrapes one platform twice at once (a straggler and the next run wait for each other)', async () => {
    const pool = new ScrapePool(10, { health: health(() => null) });
    const work = gate();
    const first = pool.run('northwind', work.task);
    const second = pool.run('northwind', work.task);
    await waitFor(() => work.inFlight() === 1, { what: 'the first scrape' });
    expect(work.releases).toHaveLength(1);
    work.releases.shift()!();
    await first;
    await waitFor(() => work.releases.length === 1, { what: 'the second scrape to start after the first' });
    expect(work.peak()).toBe(1);
    work.releases.shift()!();
    await second;
  });
});

describe('the per-feed request pacer', () => {
  it('spaces requests to one feed by minRequestIntervalMs', async () => {
    const wait = requestPacer(100);
    const signal = new AbortController().signal;
    const starts: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      await wait(signal);
      starts.push(performance.now());
    }
    const gaps = starts.slice(1).map((at, index) => at - starts[index]!);
    expect(gaps.every((gap) => gap >= 95)).toBe(true);
  });
});
