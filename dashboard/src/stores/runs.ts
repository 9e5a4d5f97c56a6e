import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunDetail, RunStatus, RunSummary, RunTrigger, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { acceptEvent } from '@/lib/eventGate';
import {
  applyEventToDetail,
  applyEventToSummary,
  isRunLifecycleEvent,
  mergeDetail,
  mergeSummary,
  normaliseDetail,
  runIdOf,
  toSummary,
} from '@/lib/runEvents';

export const RECENT_LIMIT = 8;
export const PAGE_LIMIT = 20;

export interface RunFilters {
  status: RunStatus | null;
  trigger: RunTrigger | null;
}

/**
 * Run summaries (normalised by id) shown by the recent-runs list and the runs page, and the run details opened
 * on the detail page. Loaded over REST, then kept live by `applyEvent`.
 */
export const useRunsStore = defineStore('runs', () => {
  const byId = ref<Record<number, RunSummary>>({});
  const details = ref<Record<number, RunDetail>>({});
  const detailErrors = ref<Record<number, string>>({});

  const recentIds = ref<number[]>([]);
  const recentLoaded = ref(false);
  const recentError = ref<string | null>(null);

  const pageIds = ref<number[]>([]);
  const pageFilters = ref<RunFilters>({ status: null, trigger: null });
  const pageCursor = ref<string | null>(null);
  const pageNextCursor = ref<string | null>(null);
  const pageLoading = ref(false);
  const pageLoaded = ref(false);
  const pageError = ref<string | null>(null);
  let pageRequest = 0;

  /** De-duplication state for streamed events (see lib/eventGate). */
  const gate = ref({ lastEventId: 0, lastSeq: {} as Record<number, number> });

  const recent = computed(() => recentIds.value.map((id) => byId.value[id]).filter((r): r is RunSummary => !!r));
  const pageRuns = computed(() => pageIds.value.map((id) => byId.value[id]).filter((r): r is RunSummary => !!r));

  /** Takes a fetched snapshot, merged monotonically (an event applied meanwhile is never undone). */
  function putSnapshot(run: RunSummary) {
    const have = byId.value[run.id];
    if (have) mergeSummary(have, run);
    else byId.value[run.id] = toSummary(run);
  }

  async function fetchRecent() {
    try {
      const page = await api.listRuns({ limit: RECENT_LIMIT });
      page.items.forEach(putSnapshot);
      recentIds.value = page.items.map((r) => r.id);
      recentError.value = null;
    } catch (e) {
      recentError.value = errorMessage(e);
    } finally {
      recentLoaded.value = true;
    }
  }

  async function fetchPage(filters: RunFilters, cursor: string | null) {
    const mine = ++pageRequest;
    pageLoading.value = true;
    pageFilters.value = { ...filters };
    pageCursor.value = cursor;
    try {
      const page = await api.listRuns({
        status: filters.status ?? undefined,
        trigger: filters.trigger ?? undefined,
        cursor: cursor ?? undefined,
        limit: PAGE_LIMIT,
      });
      if (mine !== pageRequest) return; // a newer query won
      page.items.forEach(putSnapshot);
      pageIds.value = page.items.map((r) => r.id);
      pageNextCursor.value = page.nextCursor;
      pageError.value = null;
    } catch (e) {
      if (mine === pageRequest) pageError.value = errorMessage(e);
    } finally {
      if (mine === pageRequest) {
        pageLoading.value = false;
        pageLoaded.value = true;
      }
    }
  }

  async function fetchDetail(id: number): Promise<RunDetail | null> {
    try {
      const fetched = await api.getRun(id);
      const have = details.value[id];
      if (have) mergeDetail(have, fetched);
      else details.value[id] = normaliseDetail(fetched);
      putSnapshot(fetched);
      delete detailErrors.value[id];
      return details.value[id] ?? null;
    } catch (e) {
      detailErrors.value[id] = errorMessage(e);
      return null;
    }
  }

  /** Refetch everything this store shows (after a reconnect or a `resync`). */
  async function refresh() {
    const jobs: Promise<unknown>[] = [fetchRecent()];
    if (pageLoaded.value) jobs.push(fetchPage(pageFilters.value, pageCursor.value));
    for (const id of Object.keys(details.value)) jobs.push(fetchDetail(Number(id)));
    await Promise.all(jobs);
  }

  function matchesPage(run: RunSummary): boolean {
    const f = pageFilters.value;
    return (!f.status || f.status === run.status) && (!f.trigger || f.trigger === run.trigger);
  }

  /** The one entry point for changes: streamed events and local ones (id 0). */
  function applyEvent(ev: StreamEvent): boolean {
    if (!acceptEvent(gate.value, ev)) return false;
    const runId = runIdOf(ev);
    if (runId == null) return true;

    const known = byId.value[runId];
    if (known) applyEventToSummary(known, ev);
    else if (isRunLifecycleEvent(ev)) byId.value[runId] = toSummary(ev.data.run);

    const detail = details.value[runId];
    if (detail) {
      applyEventToDetail(detail, ev);
      // The finished event carries no steps: fetch them once for the server's final word (skipped, errors).
      if (ev.type === 'run.finished' && ev.id > 0) void fetchDetail(runId);
    }

    if (isRunLifecycleEvent(ev)) {
      const run = byId.value[runId]!;
      const newest = recentIds.value[0];
      if (!recentIds.value.includes(runId) && (newest === undefined || runId > newest)) {
        recentIds.value = [runId, ...recentIds.value].slice(0, RECENT_LIMIT);
      }
      const firstPageNewest = pageIds.value[0];
      if (
        pageLoaded.value &&
        pageCursor.value === null &&
        !pageIds.value.includes(runId) &&
        (firstPageNewest === undefined || runId > firstPageNewest) &&
        matchesPage(run)
      ) {
        pageIds.value = [runId, ...pageIds.value].slice(0, PAGE_LIMIT);
      }
      // A retry run names the run it retries: that run now shows "retried by".
      const retryOf = ev.data.run.retryOf;
      if (retryOf != null) {
        for (const target of [byId.value[retryOf], details.value[retryOf]]) {
          if (target && target.retriedBy == null) target.retriedBy = runId;
        }
      }
    }
    return true;
  }

  return {
    byId,
    details,
    detailErrors,
    recentIds,
    recentLoaded,
    recentError,
    pageIds,
    pageFilters,
    pageCursor,
    pageNextCursor,
    pageLoading,
    pageLoaded,
    pageError,
    gate,
    recent,
    pageRuns,
    fetchRecent,
    fetchPage,
    fetchDetail,
    refresh,
    applyEvent,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useRunsStore, import.meta.hot));
