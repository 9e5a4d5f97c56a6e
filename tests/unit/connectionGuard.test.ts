import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionGuard, type RemoteWatchers } from '../../src/runs/connectionGuard.js';
import { InProcessProgressBus } from '../../src/events/progressBus.js';

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
    guard.track(7, { since: 10_000 - 400 }); // the run began 400 ms before it was tracked
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

/**
 * The guard watches a run for as long as it is tracked: `onLost` fires at the moment the grace runs out,
 * not when someone next asks. Vitest's fake timers drive both the clock and the timers.
 */
describe('connection guard: watching a run for its whole duration', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 50_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const lostAt = () => {
    const calls: { at: number; unwatchedMs: number }[] = [];
    return { calls, onLost: (unwatchedMs: number) => void calls.push({ at: Date.now(), unwatchedMs }) };
  };

  it('calls onLost once, exactly when the grace has passed since the last watcher left', async () => {
    const bus = new InProcessProgressBus();
    const guard = new ConnectionGuard(bus, 1000);
    const unsubscribe = watch(bus, 7);
    const lost = lostAt();
    guard.track(7, { onLost: lost.onLost });
    await vi.advanceTimersByTimeAsync(10_000); // watched: nothing happens however long it runs
    expect(lost.calls).toEqual([]);

    unsubscribe();
    const leftAt = Date.now();
    await vi.advanceTimersByTimeAsync(999);
    expect(lost.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(lost.calls).toEqual([{ at: leftAt + 1000, unwatchedMs: 1000 }]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lost.calls).toHaveLength(1);
  });

  it('a watcher back within the grace disarms it; the grace starts again when the last one leaves', async () => {
    const bus = new InProcessProgressBus();
    const guard = new ConnectionGuard(bus, 1000);
    const lost = lostAt();
    guard.track(7, { onLost: lost.onLost });
    await vi.advanceTimersByTimeAsync(900);
    const reload = bus.subscribe('global', () => undefined); // a dashboard tab (the global stream) attaches
    await vi.advanceTimersByTimeAsync(5_000);
    reload();
    const leftAt = Date.now();
    await vi.advanceTimersByTimeAsync(600);
    const back = watch(bus, 7);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(lost.calls).toEqual([]);
    back();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lost.calls).toEqual([{ at: leftAt + 600 + 5_000 + 1_000, unwatchedMs: 1000 }]);
  });

  it('reports each change: the last watcher leaving, and one coming back with how long nobody watched', async () => {
    const bus = new InProcessProgressBus();
    const guard = new ConnectionGuard(bus, 1000);
    const changes: [boolean, number][] = [];
    guard.track(7, { onLost: () => undefined, onChange: (watched, unwatchedMs) => void changes.push([watched, unwatchedMs]) });
    await vi.advanceTimersByTimeAsync(200);
    const first = watch(bus, 7);
    const second = bus.subscribe('global', () => undefined);
    first();
    await vi.advanceTimersByTimeAsync(500);
    second();
    await vi.advanceTimersByTimeAsync(300);
    watch(bus, 7);
    expect(changes).toEqual([
      [true, 200],
      [false, 0],
      [true, 300],
    ]);
  });

  it('a run nobody ever watches is lost when the grace has passed since tracking began', async () => {
    const guard = new ConnectionGuard(new InProcessProgressBus(), 1000);
    const lost = lostAt();
    const trackedAt = Date.now();
    guard.track(7, { onLost: lost.onLost });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lost.calls).toEqual([{ at: trackedAt + 1000, unwatchedMs: 1000 }]);
  });

  it('never calls onLost for a run untracked before the grace ran out', async () => {
    const guard = new ConnectionGuard(new InProcessProgressBus(), 1000);
    const lost = lostAt();
    guard.track(7, { onLost: lost.onLost });
    await vi.advanceTimersByTimeAsync(999);
    guard.untrack(7);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lost.calls).toEqual([]);
  });

  it('reads the other replicas afresh before deciding: a watcher that came back there since the last refresh saves the run', async () => {
    let remote = 1;
    const reads: number[] = [];
    const watchers: RemoteWatchers = {
      remoteWatchersOf: async () => {
        reads.push(Date.now());
        return remote;
      },
    };
    const guard = new ConnectionGuard(new InProcessProgressBus(), 1000, Date.now, { watchers, refreshMs: 300 });
    const lost = lostAt();
    guard.track(7, { onLost: lost.onLost });
    await vi.advanceTimersByTimeAsync(0);
    remote = 0; // the watcher on the other replica leaves...
    await vi.advanceTimersByTimeAsync(300); // ...seen at the next refresh
    const noticedAt = Date.now();
    await vi.advanceTimersByTimeAsync(900);
    remote = 1; // back there, between two refreshes, just before the grace runs out
    const readsBefore = reads.length;
    await vi.advanceTimersByTimeAsync(100);
    expect(reads.length).toBeGreaterThan(readsBefore);
    expect(reads.at(-1)).toBe(noticedAt + 1000); // the read made when the grace ran out
    expect(lost.calls).toEqual([]);
    remote = 0;
    await vi.advanceTimersByTimeAsync(300 + 1000);
    expect(lost.calls).toHaveLength(1);
    expect(lost.calls[0]!.unwatchedMs).toBe(1000);
  });

  it('keeps the last known remote count when the other replicas cannot be read (no false loss)', async () => {
    let fail = false;
    const watchers: RemoteWatchers = {
      remoteWatchersOf: async () => {
        if (fail) throw new Error('database unreachable');
        return 1;
      },
    };
    const guard = new ConnectionGuard(new InProcessProgressBus(), 1000, Date.now, { watchers, refreshMs: 300 });
    const lost = lostAt();
    guard.track(7, { onLost: lost.onLost });
    await vi.advanceTimersByTimeAsync(0);
    fail = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lost.calls).toEqual([]);
    expect(guard.unwatchedMs(7)).toBe(0);
  });
});
