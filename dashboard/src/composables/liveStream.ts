import { computed, inject, provide, readonly, ref } from 'vue';
import type { ComputedRef, InjectionKey, Ref } from 'vue';
import { useNow } from './useNow';
import type { ConnectionState } from './useEventStream';

/**
 * What components read of the tab's one stream: its state, for the header, the manual reconnect, and whether the
 * figures on screen are live or paused (and as of when).
 */
export interface LiveStream {
  readonly state: Readonly<Ref<ConnectionState>>;
  readonly lastError: Readonly<Ref<string | null>>;
  readonly retryCount: Readonly<Ref<number>>;
  /** Epoch ms of the next automatic retry, while one is scheduled. */
  readonly nextRetryAt: Readonly<Ref<number | null>>;
  /**
   * Epoch ms since when live updates are paused: the stream was lost (or never opened), and stays so until it is
   * open again and the snapshot read after it applied. Null while live (or while first connecting).
   */
  readonly pausedSince: Readonly<Ref<number | null>>;
  /** While paused: epoch ms up to which the figures shown were current (null when nothing was ever loaded). */
  readonly asOf: Readonly<Ref<number | null>>;
  reconnect(): void;
}

export const LIVE_STREAM: InjectionKey<LiveStream> = Symbol('liveStream');

/** App.vue provides the stream useLiveSync opened; components inject it (no store mirrors it). */
export function provideLiveStream(stream: LiveStream): void {
  provide(LIVE_STREAM, stream);
}

/** Outside the app (a component mounted alone) there is no stream: it reads as disconnected, never paused. */
const NO_STREAM: LiveStream = {
  state: readonly(ref<ConnectionState>('disconnected')),
  lastError: readonly(ref(null)),
  retryCount: readonly(ref(0)),
  nextRetryAt: readonly(ref(null)),
  pausedSince: readonly(ref(null)),
  asOf: readonly(ref(null)),
  reconnect: () => undefined,
};

export function useLiveStream(): LiveStream {
  return inject(LIVE_STREAM, NO_STREAM);
}

/**
 * The clock of live figures (elapsed times, countdowns, ages): the shared clock while live, stopped at the moment
 * the figures were last current while live updates are paused, so nothing on screen moves as if it were live.
 */
export function useLiveNow(): ComputedRef<number> {
  const now = useNow();
  const stream = useLiveStream();
  return computed(() => (stream.pausedSince.value != null && stream.asOf.value != null ? stream.asOf.value : now.value));
}

/** While paused, the moment the figures shown were last current (what "as of" marks say); null while live. */
export function useAsOf(): ComputedRef<number | null> {
  const stream = useLiveStream();
  return computed(() => (stream.pausedSince.value != null ? stream.asOf.value : null));
}
