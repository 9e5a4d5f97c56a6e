import { describe, expect, it } from 'vitest';
import { singleFlight } from '../../src/shared/singleFlight.js';

/** A task whose runs the test finishes by hand, in order. */
function controlledTask() {
  const finishers: Array<(error?: Error) => void> = [];
  let started = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const task = () => {
    started++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    return new Promise<void>((resolve, reject) => {
      finishers.push((error) => {
        concurrent--;
        if (error) reject(error);
        else resolve();
      });
    });
  };
  const finishNext = async (error?: Error) => {
    finishers.shift()!(error);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { task, finishNext, started: () => started, maxConcurrent: () => maxConcurrent, waiting: () => finishers.length };
}

describe('singleFlight (at most one run in flight; calls meanwhile coalesce into one more run)', () => {
  it('starts the task at once when idle, synchronously', () => {
    const c = controlledTask();
    const flight = singleFlight(c.task);
    expect(flight.running).toBe(false);
    void flight.run();
    expect(c.started()).toBe(1);
    expect(flight.running).toBe(true);
  });

  it('coalesces any number of calls during a run into exactly one more run, never two at once', async () => {
    const c = controlledTask();
    const flight = singleFlight(c.task);
    let settled = 0;
    const first = flight.run().then(() => settled++);
    const calls = [flight.run(), flight.run(), flight.run()].map((p) => p.then(() => settled++));
    expect(flight.rerunPending).toBe(true);
    await c.finishNext();
    expect(c.started()).toBe(2); // the one rerun
    expect(flight.rerunPending).toBe(false);
    expect(settled).toBe(0); // every caller waits for the rerun too
    await c.finishNext();
    await Promise.all([first, ...calls]);
    expect(settled).toBe(4);
    expect(c.started()).toBe(2);
    expect(c.maxConcurrent()).toBe(1);
    expect(flight.running).toBe(false);
  });

  it('hands every call of one series the same promise', () => {
    const flight = singleFlight(controlledTask().task);
    expect(flight.run()).toBe(flight.run());
  });

  it('runs again after a series has ended', async () => {
    const c = controlledTask();
    const flight = singleFlight(c.task);
    const first = flight.run();
    await c.finishNext();
    await first;
    const second = flight.run();
    expect(second).not.toBe(first);
    expect(c.started()).toBe(2);
    await c.finishNext();
    await second;
  });

  it('a task that asks for a run while running (work left over) is run once more, even before its first await', async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const flight = singleFlight(async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (runs < 3) void flight.run();
      await Promise.resolve();
      concurrent--;
    });
    await flight.run();
    expect(runs).toBe(3);
    expect(maxConcurrent).toBe(1);
  });

  it('a failed run rejects its series for every caller, drops the rerun asked for, and leaves the flight idle', async () => {
    const c = controlledTask();
    const flight = singleFlight(c.task);
    const first = flight.run();
    const second = flight.run();
    first.catch(() => undefined);
    await c.finishNext(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await expect(second).rejects.toThrow('boom');
    expect(c.started()).toBe(1);
    expect(flight.running).toBe(false);
    expect(flight.rerunPending).toBe(false);
    const third = flight.run();
    expect(c.started()).toBe(2);
    await c.finishNext();
    await third;
  });
});
