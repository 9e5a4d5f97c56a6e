import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { MetaInfo, PlatformInfo, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';

/** Configured platforms with their last outcome, and the service's meta information. */
export const usePlatformsStore = defineStore('platforms', () => {
  const items = ref<PlatformInfo[]>([]);
  const meta = ref<MetaInfo | null>(null);
  const loaded = ref(false);
  const error = ref<string | null>(null);

  async function fetchMeta(): Promise<MetaInfo | null> {
    try {
      meta.value = await api.meta();
    } catch (e) {
      error.value = errorMessage(e);
    }
    return meta.value;
  }

  async function load() {
    try {
      items.value = (await api.platforms()).items;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  let refetchTimer: ReturnType<typeof setTimeout> | null = null;
  /** Last outcomes change when a run finishes: refetch then (coalesced). */
  function applyEvent(ev: StreamEvent): boolean {
    if (ev.type !== 'run.finished' && ev.type !== 'platform.completed' && ev.type !== 'platform.failed') return false;
    if (refetchTimer) return true;
    refetchTimer = setTimeout(() => {
      refetchTimer = null;
      void load();
    }, 500);
    return true;
  }

  return { items, meta, loaded, error, fetchMeta, load, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(usePlatformsStore, import.meta.hot));
