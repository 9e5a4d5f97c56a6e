import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunDetail, RunSummary, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import type { StepAnchor } from '@/lib/timeline';
import { hasSteps, isPlatformEvent, isRunLifecycleEvent, isTerminalRun, runIdOf } from '@/lib/runEvents';
import { useRunsStore } from './runs';
import { asGetter } from './asGetter';

/**
 * Which run the live card shows: the active run (or the last one we watched, until the next starts), and the
 * anchors its running steps tick from. The run itself is the runs store's one copy.
 */
export const useActiveRunStore = defineStore('activeRun', () => {
  const runs = useRunsStore();
  const runId = ref<number | null>(null);
  /** Per platform of the shown run: anchors for the ticking elapsed time of running steps. */
  const anchors = ref<Record<string, StepAnchor>>({});
  const loaded = ref(false);
  const error = ref<string | null>(null);

  /** The shown run, once its steps are known. */
  const run = computed<RunDetail | null>(() => {
    const entry = runId.value != null ? runs.byId[runId.value] : undefined;
    return hasSteps(entry) ? entry : null;
  });
  const isActive = computed(() => {
    const entry = runId.value != null ? runs.byId[runId.value] : undefined;
    return !!entry && !isTerminalRun(entry.status);
  });

  const fetching = new Set<number>();
  function show(id: number) {
    if (runId.value != null && id < runId.value && isActive.value) return; // never swap a live run for an older one
    if (id !== runId.value) anchors.value = {};
    runId.value = id;
    // Only when events were missed (a run first seen mid-way, without its creation): read its steps once.
    if (!hasSteps(runs.byId[id]) && !fetching.has(id)) {
      fetching.add(id);
      void runs.fetchDetail(id).finally(() => fetching.delete(id));
    }
  }

  /** Shows a run read over REST (taken into its one copy first). */
  function follow(fetched: RunSummary | RunDetail) {
    runs.putSnapshot(fetched);
    show(fetched.id);
  }

  async function followById(id: number) {
    const entry = await runs.fetchDetail(id);
    if (entry) show(id);
    else error.value = runs.detailErrors[id] ?? null;
  }

  /** Refetch: the active run, or the final state of the run we were showing if it finished meanwhile. */
  async function refresh() {
    // Read before awaiting: the recent-runs snapshot, read alongside, may meanwhile have learned that the run ended
    // (its summary has no steps), and the card would then have nothing to show.
    const wasActive = isActive.value;
    try {
      const { run: active } = await api.activeRun();
      if (active) follow(active);
      else if (runId.value != null && (wasActive || isActive.value)) await runs.fetchDetail(runId.value);
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  /** After the runs store applied the event: follow a newer run, move the anchors of the shown one. */
  function applyEvent(ev: StreamEvent): void {
    const id = runIdOf(ev);
    if (id == null) return;
    if (!isRunLifecycleEvent(ev) && !isPlatformEvent(ev)) return;
    if (runId.value == null || id > runId.value) show(id);
    if (id !== runId.value || !isPlatformEvent(ev)) return;
    if (ev.type === 'platform.started' || ev.type === 'platform.progress') {
      anchors.value[ev.data.platform] = { elapsedMs: ev.data.elapsedMs, receivedAt: Date.now() };
    } else {
      delete anchors.value[ev.data.platform];
    }
  }

  return { runId: asGetter(runId), run, anchors: asGetter(anchors), loaded: asGetter(loaded), error: asGetter(error), isActive, follow, followById, refresh, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useActiveRunStore, import.meta.hot));
