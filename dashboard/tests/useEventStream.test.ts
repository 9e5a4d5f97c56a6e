/**
 * The realtime composable, driven with fake timers and a fake EventSource (see helpers/fakeEventSource.ts:
 * a browser EventSource cannot run in happy-dom against nothing; the real one is tested in Chromium e2e).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope } from 'vue';
import { EVENT_TYPES } from '@contract';
import { useEventStream } from '@/composables/useEventStream';
import type { EventStreamOptions } from '@/composables/useEventStream';
import { FakeEventSource } from './helpers/fakeEventSource';

function setup(overrides: Partial<EventStreamOptions> = {}) {
  const scope = effectScope();
  const onEvent = vi.fn();
  const onReconnect = vi.fn();
  const stream = scope.run(() =>
    useEventStream({
      url: '/api/events',
      eventTypes: EVENT_TYPES,
      onEvent,
      onReconnect,
      EventSource: FakeEventSource,
      random: () => 0.5, // no jitter: exact delays
      ...overrides,
    }),
  )!;
  return { scope, stream, onEvent, onReconnect };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeEventSource.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('useEventStream', () => {
  it('opens exactly one EventSource on /api/events and listens to every named event type', () => {
    const { stream, scope } = setup();
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.last.url).toBe('/api/events');
    expect(stream.state.value).toBe('connecting');
    for (const type of EVENT_TYPES) expect(FakeEventSource.last.listeners.has(type)).toBe(true);
    FakeEventSource.last.open();
    expect(stream.state.value).toBe('connected');
    scope.stop();
  });

  it('delivers parsed named events', () => {
    const { onEvent, scope } = setup();
    FakeEventSource.last.open();
    FakeEventSource.last.emit('platform.progress', { id: 41, type: 'platform.progress' }, 41);
    FakeEventSource.last.emit('scheduler.changed', { id: 42, type: 'scheduler.changed' }, 42);
    expect(onEvent).toHaveBeenCalledTimes(2);
    expect(onEvent.mock.calls[1]![0]).toBe('scheduler.changed');
    expect(onEvent.mock.calls[1]![1]).toEqual({ id: 42, type: 'scheduler.changed' });
    scope.stop();
  });

  it('ignores malformed data without breaking the stream', () => {
    const { stream, onEvent, scope } = setup();
    FakeEventSource.last.open();
    FakeEventSource.last.emit('run.created', '{not json', 5);
    expect(onEvent).not.toHaveBeenCalled();
    expect(stream.lastError.value).toMatch(/malformed/);
    expect(stream.state.value).toBe('connected');
    scope.stop();
  });

  it('reconnects with 1 s, 2 s, 4 s … delays, resuming with ?lastEventId= from the cursor its caller keeps', () => {
    let position: number | null = null;
    const { stream, scope } = setup({ cursor: () => position });
    FakeEventSource.last.open();
    position = 7;
    FakeEventSource.last.fail();
    expect(FakeEventSource.instances[0]!.closed).toBe(true); // we close it and reconnect ourselves
    expect(stream.state.value).toBe('disconnected');
    expect(stream.retryCount.value).toBe(1);

    vi.advanceTimersByTime(999);
    expect(FakeEventSource.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.last.url).toBe('/api/events?lastEventId=7');
    expect(stream.state.value).toBe('connecting');

    FakeEventSource.last.fail(); // second failure: 2 s
    vi.advanceTimersByTime(1999);
    expect(FakeEventSource.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances).toHaveLength(3);

    FakeEventSource.last.fail(); // third: 4 s
    vi.advanceTimersByTime(3999);
    expect(FakeEventSource.instances).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances).toHaveLength(4);
    expect(FakeEventSource.openCount).toBe(1); // never more than one live EventSource
    scope.stop();
  });

  it('never gives up: 50 failures in a row, each retried after at most 30 s, and reconnect() starts the backoff over', () => {
    const { stream, scope } = setup();
    FakeEventSource.last.fail();
    for (let i = 0; i < 50; i++) {
      expect(stream.state.value).toBe('disconnected');
      expect(stream.nextRetryAt.value! - Date.now()).toBeLessThanOrEqual(30_000);
      vi.advanceTimersByTime(30_000);
      FakeEventSource.last.fail();
    }
    expect(FakeEventSource.instances).toHaveLength(51); // the first try + 50 retries, and more to come
    expect(stream.retryCount.value).toBe(51); // 51 failures, the 51st retry scheduled
    expect(stream.state.value).toBe('disconnected');
    expect(stream.nextRetryAt.value! - Date.now()).toBe(30_000);
    vi.advanceTimersByTime(30_000);
    expect(FakeEventSource.instances).toHaveLength(52);
    expect(FakeEventSource.openCount).toBe(1);

    stream.reconnect();
    expect(FakeEventSource.instances).toHaveLength(53);
    expect(stream.state.value).toBe('connecting');
    expect(stream.retryCount.value).toBe(0);
    FakeEventSource.last.fail();
    expect(stream.nextRetryAt.value! - Date.now()).toBe(1000);
    scope.stop();
  });

  it('jitters every delay within ±20 % of 1 s, 2 s, 4 s … 30 s, never beyond 30 s', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647; // a fixed pseudo-random sequence
      return (seed - 1) / 2147483646;
    };
    const { stream, scope } = setup({ random });
    const delays: number[] = [];
    FakeEventSource.last.fail();
    for (let attempt = 0; attempt < 30; attempt++) {
      const delay = stream.nextRetryAt.value! - Date.now();
      delays.push(delay);
      const nominal = Math.min(30_000, 1000 * 2 ** attempt);
      expect(delay, `attempt ${attempt}`).toBeGreaterThanOrEqual(Math.max(1000, Math.floor(nominal * 0.8)));
      expect(delay, `attempt ${attempt}`).toBeLessThanOrEqual(Math.min(30_000, Math.ceil(nominal * 1.2)));
      vi.advanceTimersByTime(delay);
      FakeEventSource.last.fail();
    }
    expect(new Set(delays.slice(6)).size, 'the capped delays vary too').toBeGreaterThan(5);
    scope.stop();
  });

  it('tries at once when the window regains focus, the tab becomes visible or the browser comes back online; the backoff carries on', () => {
    const { stream, scope } = setup();
    FakeEventSource.last.fail();
    vi.advanceTimersByTime(1000);
    FakeEventSource.last.fail();
    vi.advanceTimersByTime(2000);
    FakeEventSource.last.fail();
    expect(stream.retryCount.value).toBe(3);
    expect(stream.nextRetryAt.value! - Date.now()).toBe(4000); // the next scheduled try

    const visibility = vi.spyOn(document, 'visibilityState', 'get');
    const triggers: [string, () => void][] = [
      ['focus', () => window.dispatchEvent(new Event('focus'))],
      ['online', () => window.dispatchEvent(new Event('online'))],
      [
        'visibilitychange to visible',
        () => {
          visibility.mockReturnValue('visible');
          document.dispatchEvent(new Event('visibilitychange'));
        },
      ],
    ];
    for (const [name, trigger] of triggers) {
      const before = FakeEventSource.instances.length;
      const count = stream.retryCount.value;
      trigger();
      expect(FakeEventSource.instances.length, name).toBe(before + 1);
      expect(stream.state.value, name).toBe('connecting');
      expect(FakeEventSource.openCount, name).toBe(1);
      FakeEventSource.last.fail();
      // Not a fresh start: the count goes on, and with it the delay.
      expect(stream.retryCount.value, name).toBe(count + 1);
      expect(stream.nextRetryAt.value! - Date.now(), name).toBe(Math.min(30_000, 1000 * 2 ** count));
    }

    // Becoming hidden is no reason to try.
    const before = FakeEventSource.instances.length;
    visibility.mockReturnValue('hidden');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(FakeEventSource.instances).toHaveLength(before);
    scope.stop();
  });

  it('focus, visibility and online do nothing while connected or already trying, nor once closed or disposed', () => {
    const { stream, scope } = setup();
    window.dispatchEvent(new Event('focus')); // first attempt under way
    expect(FakeEventSource.instances).toHaveLength(1);
    FakeEventSource.last.open();
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(stream.state.value).toBe('connected');

    FakeEventSource.last.fail();
    stream.close();
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('online'));
    vi.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);

    stream.connect();
    FakeEventSource.last.fail();
    scope.stop();
    window.dispatchEvent(new Event('focus'));
    expect(FakeEventSource.instances).toHaveLength(2);
  });

  it('tells since when it is down: from the first failure until the stream opens again', () => {
    const { stream, scope } = setup();
    expect(stream.downSince.value).toBeNull();
    FakeEventSource.last.open();
    vi.advanceTimersByTime(5000);
    const lostAt = Date.now();
    FakeEventSource.last.fail();
    expect(stream.downSince.value).toBe(lostAt);
    vi.advanceTimersByTime(1000);
    FakeEventSource.last.fail(); // a failed retry does not move it
    expect(stream.downSince.value).toBe(lostAt);
    vi.advanceTimersByTime(2000);
    FakeEventSource.last.open();
    expect(stream.downSince.value).toBeNull();
    scope.stop();
  });

  it('resets the retry counter after 30 s of stable connection, not before', () => {
    const { stream, scope } = setup();
    FakeEventSource.last.fail();
    vi.advanceTimersByTime(1000);
    FakeEventSource.last.fail();
    vi.advanceTimersByTime(2000);
    expect(stream.retryCount.value).toBe(2);
    FakeEventSource.last.open();

    vi.advanceTimersByTime(29_999);
    expect(stream.retryCount.value).toBe(2);
    vi.advanceTimersByTime(1);
    expect(stream.retryCount.value).toBe(0);

    // After the reset, the next failure waits 1 s again (not 4 s).
    FakeEventSource.last.fail();
    const before = FakeEventSource.instances.length;
    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.instances.length).toBe(before + 1);
    scope.stop();
  });

  it('a connection that drops before 30 s keeps counting up', () => {
    const { stream, scope } = setup();
    FakeEventSource.last.fail();
    vi.advanceTimersByTime(1000);
    FakeEventSource.last.open();
    vi.advanceTimersByTime(10_000);
    FakeEventSource.last.fail();
    expect(stream.retryCount.value).toBe(2);
    vi.advanceTimersByTime(60_000);
    expect(stream.retryCount.value).toBe(2);
    scope.stop();
  });

  it('calls onReconnect when it opens again, not on the first open', () => {
    const { onReconnect, scope } = setup();
    FakeEventSource.last.open();
    expect(onReconnect).not.toHaveBeenCalled();
    FakeEventSource.last.fail();
    vi.advanceTimersByTime(1000);
    expect(onReconnect).not.toHaveBeenCalled();
    FakeEventSource.last.open();
    expect(onReconnect).toHaveBeenCalledTimes(1);
    scope.stop();
  });

  it('a resync event calls onResync with the position it carries, and is not routed as a data event', () => {
    const onResync = vi.fn();
    const { onEvent, scope } = setup({ onResync });
    FakeEventSource.last.open();
    FakeEventSource.last.emit('run.created', { id: 3 }, 3);
    FakeEventSource.last.emit('resync', { id: 57, type: 'resync', data: { reason: 'cursor_too_old' } }, 57);
    FakeEventSource.last.emit('resync', { id: 0, type: 'resync', data: { reason: 'cursor_unknown' } }, 0);
    expect(onResync.mock.calls).toEqual([[57], [null]]);
    expect(onEvent).toHaveBeenCalledTimes(1);
    scope.stop();
  });

  it('resync falls back to onReconnect when no onResync is given', () => {
    const { onReconnect, scope } = setup();
    FakeEventSource.last.open();
    FakeEventSource.last.emit('resync', { id: 0, type: 'resync' }, 0);
    expect(onReconnect).toHaveBeenCalledTimes(1);
    scope.stop();
  });

  it('cleans up when its scope ends: closes the source and cancels a pending retry', () => {
    const { scope } = setup();
    FakeEventSource.last.fail();
    scope.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.openCount).toBe(0);

    const second = setup();
    FakeEventSource.last.open();
    second.scope.stop();
    expect(FakeEventSource.last.closed).toBe(true);
  });
});

describe('useEventStream: the readiness probe while down', () => {
  /** Backoff retries an hour apart, so that only the probe can bring the stream back within the test. */
  const slowBackoff = { initialMs: 3_600_000, maxMs: 3_600_000 };

  function probe() {
    let ready = false;
    const fetch = vi.fn((url: string, init: RequestInit) => {
      void url;
      if (ready) return Promise.resolve({ ok: true });
      return new Promise<{ ok: boolean }>((resolve, reject) => {
        // Refused at once, like a stopped service; aborted when asked.
        init.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        reject(new TypeError('Failed to fetch'));
      });
    });
    return { fetch, setReady: (value: boolean) => (ready = value) };
  }

  it('polls /readyz about every second while down (never while connected) and reconnects as soon as it answers again', async () => {
    const { fetch, setReady } = probe();
    const { stream, scope } = setup({ readinessUrl: '/readyz', fetch, policy: slowBackoff });
    FakeEventSource.last.open();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fetch).not.toHaveBeenCalled();

    FakeEventSource.last.fail(); // the service died
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1); // at once
    expect(fetch.mock.calls[0]![0]).toBe('/readyz');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(fetch).toHaveBeenCalledTimes(10); // one a second (random 0.5: no jitter)
    expect(FakeEventSource.instances).toHaveLength(1);

    setReady(true); // the service is back
    await vi.advanceTimersByTimeAsync(1000);
    expect(fetch).toHaveBeenCalledTimes(11);
    expect(FakeEventSource.instances).toHaveLength(2); // connected at once, an hour before the backoff would have
    expect(stream.state.value).toBe('connecting');
    FakeEventSource.last.open();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetch).toHaveBeenCalledTimes(11); // connected: no more polls
    scope.stop();
  });

  it('jitters the polls by ±20 % so that many tabs do not poll in step', async () => {
    const { fetch } = probe();
    let r = 0;
    const { scope } = setup({ readinessUrl: '/readyz', fetch, policy: slowBackoff, random: () => (r = (r + 0.37) % 1) });
    FakeEventSource.last.fail();
    await vi.advanceTimersByTimeAsync(0);
    const at: number[] = [];
    fetch.mockImplementation(() => {
      at.push(Date.now());
      return Promise.reject(new TypeError('Failed to fetch'));
    });
    await vi.advanceTimersByTimeAsync(20_000);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps.length).toBeGreaterThan(15);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(800);
      expect(gap).toBeLessThanOrEqual(1200);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1);
    scope.stop();
  });

  it('when /readyz answers at once the service is up and the stream failed for another reason: the backoff decides, no poll every second', async () => {
    const { fetch, setReady } = probe();
    setReady(true);
    const { scope } = setup({ readinessUrl: '/readyz', fetch });
    FakeEventSource.last.open();
    FakeEventSource.last.fail();
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeEventSource.instances).toHaveLength(1); // not reconnected early
    expect(fetch).toHaveBeenCalledTimes(1); // and not polling on
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeEventSource.instances).toHaveLength(2); // the 1 s backoff retry
    FakeEventSource.last.fail(); // refused again (a limit, say): one probe per failure, the backoff grows
    await vi.advanceTimersByTimeAsync(1999);
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(fetch).toHaveBeenCalledTimes(2);
    scope.stop();
  });

  it('a probe unanswered within its timeout counts as not ready; an attempt under way is not doubled', async () => {
    const hanging = vi.fn(
      (_url: string, init: RequestInit) =>
        new Promise<{ ok: boolean }>((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    );
    const { scope } = setup({ readinessUrl: '/readyz', fetch: hanging, policy: { initialMs: 5000, maxMs: 5000 }, readinessTimeoutMs: 2000 });
    FakeEventSource.last.open();
    FakeEventSource.last.fail();
    await vi.advanceTimersByTimeAsync(1999);
    expect(hanging).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1001); // timed out at 2 s, next poll 1 s later
    expect(hanging).toHaveBeenCalledTimes(2);

    // The service answers while the backoff's attempt is under way: that attempt is the one.
    hanging.mockImplementation(() => Promise.resolve({ ok: true }));
    await vi.advanceTimersByTimeAsync(2000); // 5 s: the backoff retry
    expect(FakeEventSource.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000); // the next poll: ready, an attempt is under way
    expect(FakeEventSource.instances).toHaveLength(2);
    FakeEventSource.last.fail(); // ... and it failed after all: the next poll connects
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeEventSource.instances).toHaveLength(3);
    scope.stop();
  });

  it('stops polling when its scope ends', async () => {
    const { fetch } = probe();
    const { scope } = setup({ readinessUrl: '/readyz', fetch, policy: slowBackoff });
    FakeEventSource.last.fail();
    await vi.advanceTimersByTimeAsync(3000);
    const calls = fetch.mock.calls.length;
    scope.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fetch.mock.calls.length).toBe(calls);
  });
});
