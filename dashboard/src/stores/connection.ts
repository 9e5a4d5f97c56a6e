import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'error';

/**
 * What the header (and anything else) shows about the live stream. The EventSource itself is owned by the
 * `useEventStream` composable, never by a store: `useLiveSync` mirrors its refs here and binds `reconnect`.
 */
export const useConnectionStore = defineStore('connection', () => {
  const state = ref<ConnectionState>('connecting');
  const lastError = ref<string | null>(null);
  const retryCount = ref(0);
  const maxRetries = ref(10);
  /** Epoch ms of the next automatic retry, while one is scheduled. */
  const nextRetryAt = ref<number | null>(null);
  const lastEventId = ref<number | null>(null);

  let reconnectHandler: (() => void) | null = null;

  function bindReconnect(handler: (() => void) | null) {
    reconnectHandler = handler;
  }

  function reconnect() {
    reconnectHandler?.();
  }

  return { state, lastError, retryCount, maxRetries, nextRetryAt, lastEventId, bindReconnect, reconnect };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useConnectionStore, import.meta.hot));
