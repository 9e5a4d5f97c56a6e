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
  /**
   * While the stream is down, GET this (the service's readiness probe, `/readyz`) about every
   * `readinessPollMs`; when it answers 2xx after having failed, reconnect at once instead of waiting for the
   * next backoff retry. Absent: no polling.
   */
  readinessUrl?: string;
  /** Mean time between two readiness polls (±20 % jitter; default 1000 ms). */
  readinessPollMs?: number;
  /** A readiness poll not answered within this counts as not ready (default 2000 ms). */
  readinessTimeoutMs?: number;
  /** Injected in tests; defaults to the global fetch. */
  fetch?: (url: string, init: RequestInit) => Promise<{ ok: boolean }>;
}

const RESYNC = 'resync';

/**
 * Owns the tab's one EventSource. State: `connecting` (opening), `connected`, `disconnected` (down, waiting for
 * the next automatic retry), `error` (this browser has no EventSource: nothing to retry).
 *
 * Reconnection is ours, not the browser's: on any error the EventSource is closed and a new one is created after
 * an exponential backoff with jitter (capped, never giving up), passing `?lastEventId=` so the server replays what
 * was missed. After `stableAfterMs` of uninterrupted connection the retry counter resets. While down it also tries
 * at once when the window regains focus, the tab becomes visible or the browser comes back online, and, given a
 * `readinessUrl`, as soon as the service answers its readiness probe again.
 */
export function useEventStream(options: EventStreamOptions) {
  const policy: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.policy };
  const random = options.random ?? Math.random;
  const pollMs = options.readinessPollMs ?? 1000;
  const pollTimeoutMs = options.readinessTimeoutMs ?? 2000;

  const state = ref<ConnectionState>('disconnected');
  const lastError = ref<string | null>(null);
  const retryCount = ref(0);
  const nextRetryAt = ref<number | null>(null);
  /** When the stream went down (lost, or the first attempt failed); null while connected. */
  const downSince = ref<number | null>(null);
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
      downSince.value ??= Date.now();
      return;
    }
    state.value = 'connecting';
    const es = new Impl(streamUrl());
    source.value = es;

    es.addEventListener('open', () => {
      if (source.value !== es) return;
      state.value = 'connected';
      downSince.value = null;
      stopReadinessPolls();
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
      downSince.value ??= Date.now();
      scheduleRetry();
      startReadinessPolls();
    });

    for (const type of new Set([...options.eventTypes, 'message'])) {
      es.addEventListener(type, (event) => handleMessage(es, type, event));
    }
  }

  /** Never gives up: the delay grows to `maxMs` and stays there. */
  function scheduleRetry() {
    const delay = backoffDelay(retryCount.value, random, policy);
    retryCount.value += 1;
    state.value = 'disconnected';
    nextRetryAt.value = Date.now() + delay;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, delay);
  }

  /** Tries now, when down and not already trying; the retry count (and so the next delay) carries on. */
  function retryNow() {
    if (state.value === 'disconnected' && downSince.value != null) connect();
  }

  /** Manual reconnect (the Retry button): tries now and starts the backoff over. */
  function reconnect() {
    retryCount.value = 0;
    connect();
  }

  /** Closes the stream for good (until `connect()`/`reconnect()`): no retry, no poll, no trigger. */
  function close() {
    clearTimers();
    stopReadinessPolls();
    closeSource();
    state.value = 'disconnected';
    downSince.value = null;
  }

  // --- The readiness probe, while down -------------------------------------------------------------------------
  // Polled about every second from the stream's first failure until it is open again. A 2xx after a failed poll
  // means the service came back: connect at once. A 2xx at the first poll means the service is up and the stream
  // failed for another reason (a limit, a proxy): polling pauses until the next failure and the backoff decides,
  // so a stream refused by a healthy service is not retried every second.
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let pollAbort: AbortController | null = null;
  let sawNotReady = false;

  function startReadinessPolls() {
    if (!options.readinessUrl || disposed || pollTimer || pollAbort) return;
    void poll();
  }

  function stopReadinessPolls() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    pollAbort?.abort();
    pollAbort = null;
    sawNotReady = false;
  }

  function schedulePoll() {
    pollTimer = setTimeout(() => {
      pollTimer = null;
      void poll();
    }, Math.round(pollMs * (0.8 + 0.4 * random())));
  }

  async function poll() {
    const fetchImpl = options.fetch ?? (globalThis.fetch as EventStreamOptions['fetch']);
    if (!fetchImpl || !options.readinessUrl) return;
    const abort = new AbortController();
    pollAbort = abort;
    const deadline = setTimeout(() => abort.abort(), pollTimeoutMs);
    let ready: boolean;
    try {
      ready = (await fetchImpl(options.readinessUrl, { cache: 'no-store', signal: abort.signal })).ok;
    } catch {
      ready = false; // refused, timed out, offline
    } finally {
      clearTimeout(deadline);
    }
    if (pollAbort !== abort) return; // stopped meanwhile (the stream opened, or the scope ended)
    pollAbort = null;
    if (disposed || state.value === 'connected') return;
    if (!ready) {
      sawNotReady = true;
      schedulePoll();
    } else if (state.value === 'connecting') {
      schedulePoll(); // an attempt is under way: if it fails, the next poll connects
    } else if (sawNotReady) {
      sawNotReady = false;
      connect(); // the service is back: no need to wait for the backoff
    }
    // else: ready at once, yet the stream failed: leave it to the backoff (polling resumes on the next failure)
  }

  // --- Focus, visibility, network ------------------------------------------------------------------------------
  const hasWindow = typeof window !== 'undefined' && typeof window.addEventListener === 'function';
  const hasDocument = typeof document !== 'undefined' && typeof document.addEventListener === 'function';
  const onVisible = () => {
    if (document.visibilityState === 'visible') retryNow();
  };
  if (hasWindow) {
    window.addEventListener('online', retryNow);
    window.addEventListener('focus', retryNow);
  }
  if (hasDocument) document.addEventListener('visibilitychange', onVisible);

  if (getCurrentScope()) {
    onScopeDispose(() => {
      disposed = true;
      close();
      if (hasWindow) {
        window.removeEventListener('online', retryNow);
        window.removeEventListener('focus', retryNow);
      }
      if (hasDocument) document.removeEventListener('visibilitychange', onVisible);
    });
  }

  if (options.immediate !== false) connect();

  return { state, lastError, retryCount, nextRetryAt, downSince, connect, reconnect, retryNow, close };
}
