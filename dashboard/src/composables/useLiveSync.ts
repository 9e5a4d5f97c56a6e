import { getCurrentScope, onScopeDispose, readonly, ref, watch } from 'vue';
import { EVENT_TYPES } from '@contract';
import type { StreamEvent } from '@contract';
import { api } from '@/api/client';
import { useActiveRunStore } from '@/stores/activeRun';
import { useAuthStore } from '@/stores/auth';
import { useEventAppliers } from '@/stores/eventAppliers';
import { useOddsStore } from '@/stores/odds';
import { usePlatformsStore } from '@/stores/platforms';
import { useRunsStore } from '@/stores/runs';
import { useSchedulerStore } from '@/stores/scheduler';
import { useToastsStore } from '@/stores/toasts';
import { useTrendsStore } from '@/stores/trends';
import { createEventGate } from '@/lib/eventGate';
import { singleFlight } from '../../../src/shared/singleFlight';
import { localRunEvent } from '@/lib/localEvents';
import { autoRescrape } from './autoRescrape';
import type { AutoRescrapeOutcome } from './autoRescrape';
import type { LiveStream } from './liveStream';
import { useEventStream } from './useEventStream';
import type { EventSourceConstructor } from './useEventStream';

export interface LiveSyncOptions {
  EventSource?: EventSourceConstructor;
  /** sessionStorage by default. */
  sessionStorage?: Storage | null;
  /** Start the auto-rescrape check after the first snapshot (default true). */
  autoRescrape?: boolean;
  /** Load the snapshot anyway when the stream has not opened after this long (default 1500 ms). */
  snapshotFallbackMs?: number;
  /** Injected in tests: what polls the service's readiness probe while the stream is down. */
  fetch?: (url: string, init: RequestInit) => Promise<{ ok: boolean }>;
}

function defaultSessionStorage(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * The app's data flow, used once by App.vue:
 * 1. the tab's one EventSource on /api/events; each event passes the tab's one de-duplication gate (which also
 *    keeps the stream position to resume from), then goes to every store's `applyEvent`, in the order
 *    EVENT_APPLIERS declares (stores/eventAppliers.ts);
 * 2. once it is open, the REST snapshot of everything shown (meta, runs, active run, scheduler, platforms; the
 *    odds page and trend series when a page shows them).
 *    A fresh stream starts "live", so the snapshot must be read after it opened or the events in between would
 *    be lost; events that arrive while a snapshot is loading wait and are applied after it. If the stream is
 *    slow to open, a first snapshot is loaded anyway (and loaded again once it opens);
 * 3. on reconnect and on `resync`: the snapshot again, so nothing shown is stale;
 * 4. once connected and loaded: the auto-rescrape check (connection-loss recovery);
 * 5. whether what the stores hold is live: from the moment the stream is lost (or its first attempt fails) until
 *    it is open again and the snapshot read after it applied, live updates are paused, and the figures shown are
 *    as of the last moment they were known current (`live`, which App.vue provides to components).
 */
export function useLiveSync(options: LiveSyncOptions = {}) {
  const runs = useRunsStore();
  const active = useActiveRunStore();
  const scheduler = useSchedulerStore();
  const platforms = usePlatformsStore();
  const auth = useAuthStore();
  const toasts = useToastsStore();
  const odds = useOddsStore();
  const trends = useTrendsStore();
  const applyEvent = useEventAppliers();

  /** Events wait while a snapshot is being read. */
  let loading = false;
  /** `loading` as state: a snapshot is being read (after a reconnect the figures are not current until it is applied). */
  const snapshotPending = ref(false);
  /** The last moment the figures were known current: an event or a snapshot applied, or an open stream lost. */
  const currentAt = ref<number | null>(null);
  const pausedSince = ref<number | null>(null);
  let buffered: StreamEvent[] = [];
  const gate = createEventGate();
  let resolveFirstLoad!: () => void;
  /** Resolves when the first snapshot has been applied. */
  const firstLoad = new Promise<void>((resolve) => (resolveFirstLoad = resolve));

  function route(ev: StreamEvent) {
    currentAt.value = Date.now();
    applyEvent(ev);
  }

  function onEvent(_type: string, data: unknown) {
    const ev = data as StreamEvent;
    if (!ev || typeof ev !== 'object' || typeof ev.type !== 'string') return;
    if (!gate.accept(ev)) return;
    if (loading) buffered.push(ev);
    else route(ev);
  }

  async function loadOnce() {
    const meta = await platforms.fetchMeta();
    if (meta) auth.setAuthRequired(meta.authRequired);
    // Odds and trends are read only while a page shows them (otherwise these are no-ops).
    await Promise.all([runs.refresh(), active.refresh(), scheduler.load(), platforms.load(), odds.refresh(), trends.refresh()]);
  }

  const snapshotLoads = singleFlight(async () => {
    loading = true;
    snapshotPending.value = true;
    await loadOnce();
    if (snapshotLoads.rerunPending) return; // the load after this one applies what waited
    const pending = buffered;
    buffered = [];
    loading = false;
    currentAt.value = Date.now();
    for (const ev of pending) route(ev);
    snapshotPending.value = false;
    resolveFirstLoad();
  });

  /** Loads (or reloads) the snapshot; concurrent calls coalesce, a call during a load schedules one more. */
  function loadSnapshot(): Promise<void> {
    return snapshotLoads.run();
  }

  const stream = useEventStream({
    url: '/api/events',
    eventTypes: EVENT_TYPES,
    onEvent,
    cursor: gate.lastEventId,
    onReconnect: () => void loadSnapshot(),
    onResync: (position) => {
      gate.reset(position);
      void loadSnapshot();
    },
    EventSource: options.EventSource,
    immediate: true,
    readinessUrl: '/readyz',
    fetch: options.fetch,
  });

  // Live or paused. An open stream delivers every change: when it is lost, what the page shows was current until
  // that moment (unless the snapshot after a reconnect was still loading: then the last event or snapshot counts).
  watch(
    () => stream.state.value,
    (s, previous) => {
      const at = Date.now();
      if (previous === 'connected' && s !== 'connected' && !snapshotPending.value) currentAt.value = at;
      if ((s === 'disconnected' || s === 'error') && pausedSince.value == null) pausedSince.value = at;
    },
    { flush: 'sync' },
  );
  // Every open is followed by a snapshot (the first one, or onReconnect's): live again once it is applied.
  watch(
    snapshotPending,
    (pending) => {
      if (!pending && stream.state.value === 'connected') pausedSince.value = null;
    },
    { flush: 'sync' },
  );
  const live: LiveStream = {
    state: stream.state,
    lastError: stream.lastError,
    retryCount: stream.retryCount,
    nextRetryAt: stream.nextRetryAt,
    pausedSince: readonly(pausedSince),
    asOf: readonly(currentAt),
    reconnect: () => stream.reconnect(),
  };

  let opened = false;
  const fallback = setTimeout(() => {
    if (!opened) void loadSnapshot();
  }, options.snapshotFallbackMs ?? 1500);
  watch(
    () => stream.state.value,
    (s) => {
      if (s !== 'connected' || opened) return;
      opened = true;
      clearTimeout(fallback);
      void loadSnapshot();
    },
    { flush: 'sync' },
  );
  if (getCurrentScope()) onScopeDispose(() => clearTimeout(fallback));

  function report(outcome: AutoRescrapeOutcome) {
    switch (outcome.kind) {
      case 'started': {
        const { lostRunId, retryRun } = outcome;
        active.follow(retryRun);
        runs.applyEvent(localRunEvent(retryRun));
        toasts.push({
          kind: 'warning',
          message: `Connection was lost during run #${lostRunId}; started retry run #${retryRun.id}.`,
          link: { to: `/runs/${retryRun.id}`, label: `Open run #${retryRun.id}` },
        });
        break;
      }
      case 'already_retried':
        toasts.push({
          kind: 'info',
          message:
            outcome.retriedBy != null
              ? `Connection was lost during run #${outcome.lostRunId}; it was already retried by run #${outcome.retriedBy}.`
              : `Connection was lost during run #${outcome.lostRunId}; it was already retried.`,
          link: outcome.retriedBy != null ? { to: `/runs/${outcome.retriedBy}`, label: `Open run #${outcome.retriedBy}` } : undefined,
        });
        if (outcome.retriedBy != null) void runs.fetchRecent();
        break;
      case 'run_active':
        if (outcome.activeRunId != null) void active.followById(outcome.activeRunId);
        break;
      case 'failed':
        toasts.push({ kind: 'error', message: `Connection was lost during run #${outcome.lostRunId}; the automatic retry could not start.` });
        break;
      case 'guarded':
      case 'nothing':
        break;
    }
  }

  /**
   * The retry run is observed: it needs our stream to count as its watcher, so the check waits for the first
   * connection (a retry started while the stream is down would only lose its connection again).
   */
  let checked = false;
  if (options.autoRescrape !== false) {
    let stop: (() => void) | undefined = undefined;
    stop = watch(
      () => stream.state.value,
      async (s) => {
        if (s !== 'connected' || checked) return;
        checked = true;
        stop?.();
        await firstLoad;
        report(await autoRescrape({ api, storage: options.sessionStorage ?? defaultSessionStorage() }));
      },
      { immediate: true },
    );
  }

  return { stream, live, loadSnapshot, firstLoad };
}
