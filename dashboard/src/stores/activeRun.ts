import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunDetail, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { acceptEvent } from '@/lib/eventGate';
import {
  applyEventToDetail,
  isPlatformEvent,
  isRunLifecycleEvent,
  isTerminalRun,
  mergeDetail,
  normaliseDetail,
  runIdOf,
  toSummary,
} from '@/lib/runEvents';

/** Where a running step's elapsed time was last reported, in local clock terms (no server clock skew). */
export interface StepAnchor {
  elapsedMs: number;
  receivedAt: number;
}

/**
 * The live run: the active run (or the last one we watched, until the next starts) with its platform steps.
 * Snapshot from GET /api/runs/active, then kept current by `applyEvent`.
 */
export const useActiveRunStore = defineStore('activeRun', () => {
  const run = ref<RunDetail | null>(null);
  /** Per platform of `run`: anchors for the ticking elapsed time of running steps. */
  const anchors = ref<Record<string, StepAnchor>>({});
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const gate = ref({ lastEventId: 0, lastSeq: {} as Record<number, number> });

  const isActive = computed(() => !!run.value && !isTerminalRun(run.value.status));
  const progressText = computed(() =>
    run.value ? `${run.value.platformsDone}/${run.value.platformsTotal} platforms` : '',
  );

  /** Shows a run fetched over REST (merged monotonically into what we hold for that run). */
  function follow(detail: RunDetail) {
    if (run.value && detail.id < run.value.id && isActive.value) return; // never swap a live run for an older one
    if (run.value && run.value.id === detail.id) {
      mergeDetail(run.value, detail);
      return;
    }
    anchors.value = {};
    run.value = normaliseDetail(detail);
  }

  async function followById(id: number) {
    try {
      follow(await api.getRun(id));
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  /** Refetch: the active run, or the final state of the run we were showing if it finished meanwhile. */
  async function refresh() {
    try {
      const { run: active } = await api.activeRun();
      if (active) follow(active);
      else if (run.value && !isTerminalRun(run.value.status)) follow(await api.getRun(run.value.id));
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  const pendingFetches = new Set<number>();
  function fetchOnce(id: number) {
    if (pendingFetches.has(id)) return;
    pendingFetches.add(id);
    void followById(id).finally(() => pendingFetches.delete(id));
  }

  function applyEvent(ev: StreamEvent): boolean {
    if (!acceptEvent(gate.value, ev)) return false;
    const runId = runIdOf(ev);
    if (runId == null) return true;
    const current = run.value;

    if (!current || runId > current.id) {
      // A newer run: follow it. Lifecycle events carry the whole run; for a platform event of a run we never
      // saw created (missed while disconnected), fetch it.
      if (isRunLifecycleEvent(ev)) {
        const r = ev.data.run;
        const steps = 'steps' in r && Array.isArray((r as RunDetail).steps) ? (r as RunDetail).steps : [];
        follow({ ...toSummary(r), steps });
        applyEventToDetail(run.value!, ev);
        if (ev.type !== 'run.created' && steps.length === 0) fetchOnce(runId); // we missed its steps
      } else {
        fetchOnce(runId);
      }
      return true;
    }
    if (runId !== current.id) return true; // an older run: not ours to show

    applyEventToDetail(current, ev);
    if (isPlatformEvent(ev)) {
      if (ev.type === 'platform.started' || ev.type === 'platform.progress') {
        anchors.value[ev.data.platform] = { elapsedMs: ev.data.elapsedMs, receivedAt: Date.now() };
      } else {
        delete anchors.value[ev.data.platform];
      }
    }
    // The finished event has no steps: fetch them once so skipped/failed steps show the server's final word.
    if (ev.type === 'run.finished' && ev.id > 0) fetchOnce(runId);
    return true;
  }

  return { run, anchors, loaded, error, gate, isActive, progressText, follow, followById, refresh, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useActiveRunStore, import.meta.hot));
