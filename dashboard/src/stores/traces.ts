import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { TraceDetail } from '@contract';
import { api, errorMessage, isApiError } from '@/api/client';
import { asGetter } from './asGetter';

export interface TraceLoadError {
  /** The service does not hold this trace (404 `trace_not_found`): kept in memory for its last runs only. */
  notFound: boolean;
  /** Why, when not found: `exported` (the service sends its traces to a collector and keeps none), else `not_held`. */
  reason: 'exported' | 'not_held' | null;
  message: string;
}

/**
 * Traces opened on the trace page, by id, read over REST (GET /api/traces/:traceId) each time the page opens
 * one: a run still going has more spans later. No stream: a trace is not pushed. A failed reread keeps the copy
 * already shown.
 */
export const useTracesStore = defineStore('traces', () => {
  const byId = ref<Record<string, TraceDetail>>({});
  const errors = ref<Record<string, TraceLoadError>>({});

  async function load(traceId: string): Promise<void> {
    try {
      byId.value[traceId] = await api.getTrace(traceId);
      delete errors.value[traceId];
    } catch (e) {
      const notFound = isApiError(e, 'trace_not_found');
      const exported = notFound && (e.details as { reason?: unknown } | undefined)?.reason === 'exported';
      errors.value[traceId] = { notFound, reason: notFound ? (exported ? 'exported' : 'not_held') : null, message: errorMessage(e) };
    }
  }

  return { byId: asGetter(byId), errors: asGetter(errors), load };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useTracesStore, import.meta.hot));
