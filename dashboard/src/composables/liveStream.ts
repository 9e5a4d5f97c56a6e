import { inject, provide, readonly, ref } from 'vue';
import type { InjectionKey, Ref } from 'vue';
import type { ConnectionState } from './useEventStream';

/** What components read of the tab's one stream: its state, for the header, and the manual reconnect. */
export interface LiveStream {
  readonly state: Readonly<Ref<ConnectionState>>;
  readonly lastError: Readonly<Ref<string | null>>;
  readonly retryCount: Readonly<Ref<number>>;
  /** Epoch ms of the next automatic retry, while one is scheduled. */
  readonly nextRetryAt: Readonly<Ref<number | null>>;
  reconnect(): void;
}

export const LIVE_STREAM: InjectionKey<LiveStream> = Symbol('liveStream');

/** App.vue provides the stream useLiveSync opened; components inject it (no store mirrors it). */
export function provideLiveStream(stream: LiveStream): void {
  provide(LIVE_STREAM, stream);
}

/** Outside the app (a component mounted alone) there is no stream: it reads as disconnected. */
const NO_STREAM: LiveStream = {
  state: readonly(ref<ConnectionState>('disconnected')),
  lastError: readonly(ref(null)),
  retryCount: readonly(ref(0)),
  nextRetryAt: readonly(ref(null)),
  reconnect: () => undefined,
};

export function useLiveStream(): LiveStream {
  return inject(LIVE_STREAM, NO_STREAM);
}
