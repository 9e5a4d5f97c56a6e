import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { StepCapture } from '@contract';
import { api, errorMessage } from '@/api/client';
import { asGetter } from './asGetter';

/** One step of one run: `runId/platform`. */
export const captureKey = (runId: number, platform: string) => `${runId}/${platform}`;

/**
 * Failed browser steps' pages at failure (GET /api/runs/:id/steps/:platform/capture), read when the run page
 * opens one and kept: a stored capture never changes. A failed read is kept as its message, tried again on
 * the next `load`.
 */
export const useCapturesStore = defineStore('captures', () => {
  const byKey = ref<Record<string, StepCapture>>({});
  const errors = ref<Record<string, string>>({});
  const loading = ref<Record<string, boolean>>({});

  async function load(runId: number, platform: string): Promise<void> {
    const key = captureKey(runId, platform);
    if (byKey.value[key] || loading.value[key]) return;
    loading.value[key] = true;
    try {
      byKey.value[key] = await api.stepCapture(runId, platform);
      delete errors.value[key];
    } catch (e) {
      errors.value[key] = errorMessage(e);
    } finally {
      delete loading.value[key];
    }
  }

  return { byKey: asGetter(byKey), errors: asGetter(errors), loading: asGetter(loading), load };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useCapturesStore, import.meta.hot));
