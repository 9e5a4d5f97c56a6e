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

  function record(platform: string, runId: number, outcome: 'completed' | 'failed', finishedAt: string, eventsFound: number) {
    const item = items.value.find((p) => p.name === platform);
    if (!item || (item.lastFinishedAt != null && Date.parse(finishedAt) < Date.parse(item.lastFinishedAt))) return;
    Object.assign(item, {
      lastOutcome: outcome,
      lastRunId: runId,
      lastFinishedAt: finishedAt,
      lastEventsFound: eventsFound,
      lastSuccessAt: outcome === 'completed' ? finishedAt : item.lastSuccessAt,
    });
  }

  /**
   * A platform's last outcome is its latest finished step: taken from the events as sent, no refetch. The final
   * steps of `run.finished` also cover steps another process ended (the watchdog fails a running step).
   */
  function applyEvent(ev: StreamEvent): void {
    if (ev.type === 'platform.completed' || ev.type === 'platform.failed') {
      record(ev.data.platform, ev.data.runId, ev.type === 'platform.completed' ? 'completed' : 'failed', ev.at, ev.data.eventsFound);
    } else if (ev.type === 'run.finished') {
      for (const step of ev.data.run.steps) {
        if ((step.status === 'completed' || step.status === 'failed') && step.finishedAt) {
          record(step.platform, ev.data.runId, step.status, step.finishedAt, step.eventsFound);
        }
      }
    }
  }

  return { items, meta, loaded, error, fetchMeta, load, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(usePlatformsStore, import.meta.hot));
