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

  it('gives up after 10 retries (state error) until reconnect() is called', () => {
    const { stream, scope } = setup();
    FakeEventSource.last.fail();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(30_000);
      FakeEventSource.last.fail();
    }
    expect(FakeEventSource.instances).toHaveLength(11); // the first try + 10 retries
    expect(stream.state.value).toBe('error');
    expect(stream.retryCount.value).toBe(10);
    vi.advanceTimersByTime(10 * 60_000);
    expect(FakeEventSource.instances).toHaveLength(11); // no more automatic tries

    stream.reconnect();
    expect(FakeEventSource.instances).toHaveLength(12);
    expect(stream.state.value).toBe('connecting');
    expect(stream.retryCount.value).toBe(0);
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
