import { getCurrentScope, onScopeDispose, ref, shallowRef } from 'vue';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';
import type { BackoffPolicy } from './backoff';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'error';

/** The part of the browser's EventSource this composable uses (so tests can inject a fake one). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface EventStreamOptions {
  /** Stream URL without the resume cursor, e.g. `/api/events`. */
  url: string;
  /**
   * Named SSE event types to listen to. Named events never reach `onmessage`, so each type gets its own
   * listener; `message` (unnamed) is listened to as well.
   */
  eventTypes: readonly string[];
  /** One parsed event (`data` is the JSON of the SSE `data:` line). */
  onEvent: (type: string, data: unknown) => void;
  /** The stream position to resume from when (re)connecting (`?lastEventId=`); the caller keeps it. */
  cursor?: () => number | null;
  /** Called when the stream opens again after having been open before: refetch snapshots here. */
  onReconnect?: () => void;
  /**
   * Called on a `resync` event (cursor too old or unknown) with the position it names (the server's latest id,
   * null when absent): the caller resumes from there and refetches its state over REST.
   */
  onResync?: (position: number | null) => void;
  /** Injected in tests; defaults to the browser's EventSource. */
  EventSource?: EventSourceConstructor;
  policy?: Partial<BackoffPolicy>;
  random?: () => number;
  /** Open at once (default true). */
  immediate?: boolean;
}

const RESYNC = 'resync';

/**
 * Owns the tab's one EventSource. State: `connecting` (opening), `connected`, `disconnected` (waiting for the
 * next automatic retry, or closed), `error` (gave up after `maxRetries`; `reconnect()` starts over).
 *
 * Reconnection is ours, not the browser's: on any error the EventSource is closed and a new one is created after
 * an exponential backoff with jitter, passing `?lastEventId=` so the server replays what was missed. After
 * `stableAfterMs` of uninterrupted connection the retry counter resets.
 */
export function useEventStream(options: EventStreamOptions) {
  const policy: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.policy };
  const random = options.random ?? Math.random;

  const state = ref<ConnectionState>('disconnected');
  const lastError = ref<string | null>(null);
  const retryCount = ref(0);
  const nextRetryAt = ref<number | null>(null);
  const source = shallowRef<EventSourceLike | null>(null);

  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let stableTimer: ReturnType<typeof setTimeout> | null = null;
  let hasBeenOpen = false;
  let disposed = false;

  function clearTimers() {
    if (retryTimer) clearTimeout(retryTimer);
    if (stableTimer) clearTimeout(stableTimer);
    retryTimer = stableTimer = null;
    nextRetryAt.value = null;
  }

  function closeSource() {
    const es = source.value;
    source.value = null;
    es?.close();
  }

  function streamUrl(): string {
    const position = options.cursor?.() ?? null;
    if (position == null) return options.url;
    const sep = options.url.includes('?') ? '&' : '?';
    return `${options.url}${sep}lastEventId=${encodeURIComponent(String(position))}`;
  }

  function handleMessage(es: EventSourceLike, type: string, event: MessageEvent) {
    if (source.value !== es) return; // a late event of a source we already closed
    let data: unknown;
    try {
      data = JSON.parse(String(event.data));
    } catch {
      lastError.value = `Ignored a malformed "${type}" event`;
      return;
    }
    if (type === RESYNC) {
      const id = Number(event.lastEventId);
      const position = event.lastEventId !== '' && Number.isInteger(id) && id > 0 ? id : null;
      if (options.onResync) options.onResync(position);
      else options.onReconnect?.();
      return;
    }
    options.onEvent(type, data);
  }

  function connect() {
    if (disposed) return;
    clearTimers();
    closeSource();
    const Impl = options.EventSource ?? (globalThis.EventSource as unknown as EventSourceConstructor | undefined);
    if (!Impl) {
      state.value = 'error';
      lastError.value = 'This browser has no EventSource';
      return;
    }
    state.value = 'connecting';
    const es = new Impl(streamUrl());
    source.value = es;

    es.addEventListener('open', () => {
      if (source.value !== es) return;
      state.value = 'connected';
      const isReconnect = hasBeenOpen;
      hasBeenOpen = true;
      stableTimer = setTimeout(() => {
        stableTimer = null;
        retryCount.value = 0;
      }, policy.stableAfterMs);
      if (isReconnect) options.onReconnect?.();
    });

    es.addEventListener('error', () => {
      if (source.value !== es) return;
      const wasOpen = state.value === 'connected';
      closeSource(); // we reconnect ourselves, with backoff and a cursor
      clearTimers();
      const at = new Date().toLocaleTimeString();
      lastError.value = wasOpen ? `Stream interrupted at ${at}` : `Could not connect to the live stream at ${at}`;
      scheduleRetry();
    });

    for (const type of new Set([...options.eventTypes, 'message'])) {
      es.addEventListener(type, (event) => handleMessage(es, type, event));
    }
  }

  function scheduleRetry() {
    if (retryCount.value >= policy.maxRetries) {
      state.value = 'error';
      return;
    }
    const delay = backoffDelay(retryCount.value, random, policy);
    retryCount.value += 1;
    state.value = 'disconnected';
    nextRetryAt.value = Date.now() + delay;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, delay);
  }

  /** Manual reconnect (the Retry button): starts over with a fresh retry budget. */
  function reconnect() {
    retryCount.value = 0;
    connect();
  }

  function close() {
    clearTimers();
    closeSource();
    state.value = 'disconnected';
  }

  function onOnline() {
    if (state.value === 'disconnected' || state.value === 'error') reconnect();
  }

  const hasWindow = typeof window !== 'undefined' && typeof window.addEventListener === 'function';
  if (hasWindow) window.addEventListener('online', onOnline);

  if (getCurrentScope()) {
    onScopeDispose(() => {
      disposed = true;
      close();
      if (hasWindow) window.removeEventListener('online', onOnline);
    });
  }

  if (options.immediate !== false) connect();

  return { state, lastError, retryCount, nextRetryAt, maxRetries: policy.maxRetries, connect, reconnect, close };
}

export type EventStream = ReturnType<typeof useEventStream>;
