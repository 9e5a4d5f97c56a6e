import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { PlatformPreview } from '@contract';
import { api, errorMessage } from '@/api/client';
import { asGetter } from './asGetter';

/**
 * The Platforms page's preview: the entry last previewed (kept while the tab lives, so leaving the page loses
 * no draft), its answer, or why there is none (JSON that does not parse, the service's 400 naming the bad key).
 */
export const usePreviewStore = defineStore('preview', () => {
  const draft = ref('');
  const result = ref<PlatformPreview | null>(null);
  const error = ref<string | null>(null);
  const pending = ref(false);

  async function preview(text: string) {
    draft.value = text;
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      result.value = null;
      error.value = 'The entry is not valid JSON.';
      return;
    }
    pending.value = true;
    error.value = null;
    try {
      result.value = await api.previewPlatform(entry);
    } catch (e) {
      result.value = null;
      error.value = errorMessage(e);
    } finally {
      pending.value = false;
    }
  }

  return { draft: asGetter(draft), result: asGetter(result), error: asGetter(error), pending: asGetter(pending), preview };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(usePreviewStore, import.meta.hot));
