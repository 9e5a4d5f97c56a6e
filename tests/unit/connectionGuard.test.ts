import { describe, expect, it } from 'vitest';
import { ConnectionGuard } from '../../src/runs/connectionGuard.js';
import { InProcessProgressBus } from '../../src/runs/progressBus.js';

/** The guard's grace arithmetic on a fake clock: exact to the millisecond, no waiting. */
function setUp(graceMs = 1000) {
  let now = 10_000;
  const bus = new InProcessProgressBus();
  const guard = new ConnectionGuard(bus, graceMs, () => now);
  return { bus, guard, advance: (ms: number) => (now += ms) };
}

const watch = (bus: InProcessProgressBus, runId: number) => bus.subscribe({ runId }, () => undefined);

describe('connection guard', () => {
  it('loses an unwatched run exactly when the grace has passed since tracking began', () => {
    const { guard, advance } = setUp(1000);
    guard.track(7);
    advance(999);
    expect(guard.unwatchedMs(7)).toBe(999);
    expect(guard.isLost(7)).toBe(false);
    advance(1);
    expect(guard.unwatchedMs(7)).toBe(1000);
    expect(guard.isLost(7)).toBe(true);
  });

  it('never loses a watched run, and restarts the grace from the moment the last watcher leaves', () => {
    const { bus, guard, advance } = setUp(1000);
    const unsubscribe = watch(bus, 7);
    guard.track(7);
    advance(5000);
    expect(guard.unwatchedMs(7)).toBe(0);
    expect(guard.isLost(7)).toBe(false);

    unsubscribe();
    advance(600);
    expect(guard.unwatchedMs(7)).toBe(600);
    const again = watch(bus, 7); // back within the grace: the clock resets
    advance(5000);
    expect(guard.isLost(7)).toBe(false);
    again();
    advance(999);
    expect(guard.isLost(7)).toBe(false);
    advance(1);
    expect(guard.isLost(7)).toBe(true);
  });

  it('counts a global-stream subscriber as a watcher of every run', () => {
    const { bus, guard, advance } = setUp(1000);
    guard.track(7);
    advance(500);
    const unsubscribe = bus.subscribe('global', () => undefined);
    advance(5000);
    expect(guard.isLost(7)).toBe(false);
    unsubscribe();
    advance(1000);
    expect(guard.isLost(7)).toBe(true);
  });

  it('takes the start of tracking from the caller, and forgets a run once untracked', () => {
    const { guard, advance } = setUp(1000);
    guard.track(7, 10_000 - 400); // the run began 400 ms before it was tracked
    advance(600);
    expect(guard.isLost(7)).toBe(true);
    guard.untrack(7);
    expect(guard.isLost(7)).toBe(false);
    expect(guard.unwatchedMs(7)).toBe(0);
  });

  it('with no grace, loses an unwatched run at once', () => {
    const { guard } = setUp(0);
    guard.track(7);
    expect(guard.isLost(7)).toBe(true);
  });
});
