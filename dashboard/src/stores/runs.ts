import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunDetail, RunStatus, RunSummary, RunTrigger, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { applyRunEvent, entryFromEvent, isPlatformEvent, isRunLifecycleEvent, runIdOf, takeSnapshot, toEntry } from '@/lib/runEvents';
import type { RunEntry } from '@/lib/runEvents';
import { asGetter } from './asGetter';

export const RECENT_LIMIT = 8;
export const PAGE_LIMIT = 20;

export interface RunFilters {
  status: RunStatus | null;
  trigger: RunTrigger | null;
}

/**
 * Every run the tab knows, one copy each, by id: the recent-runs list, the runs page, the live run card and the
 * run page all read these entries. Loaded over REST, then kept current by `applyEvent`.
 */
export const useRunsStore = defineStore('runs', () => {
  const byId = ref<Record<number, RunEntry>>({});
  /** Runs opened on the run page (refetched after a reconnect). */
  const detailIds = new Set<number>();
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

  const recent = computed(() => recentIds.value.map((id) => byId.value[id]).filter((r): r is RunEntry => !!r));
  const pageRuns = computed(() => pageIds.value.map((id) => byId.value[id]).filter((r): r is RunEntry => !!r));

  /** Takes a fetched run (summary or detail) into its one copy; returns that copy. */
  function putSnapshot(run: RunSummary | RunDetail): RunEntry {
    const have = byId.value[run.id];
    if (have) takeSnapshot(have, run);
    else byId.value[run.id] = toEntry(run);
    return byId.value[run.id]!;
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
    // Dimmed while another page is coming; the page shown read again (a reconnect's snapshot) stays as it is.
    const shownAgain = pageLoaded.value && cursor === pageCursor.value && filters.status === pageFilters.value.status && filters.trigger === pageFilters.value.trigger;
    if (!shownAgain) pageLoading.value = true;
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

  async function fetchDetail(id: number): Promise<RunEntry | null> {
    detailIds.add(id);
    try {
      const entry = putSnapshot(await api.getRun(id));
      delete detailErrors.value[id];
      return entry;
    } catch (e) {
      detailErrors.value[id] = errorMessage(e);
      return null;
    }
  }

  /** The service said this run was already retried by run `by` (a 409 `already_retried`). */
  function setRetriedBy(id: number, by: number): void {
    const run = byId.value[id];
    if (run) run.retriedBy = by;
  }

  /** Refetch everything this store shows (after a reconnect or a `resync`). */
  async function refresh() {
    const jobs: Promise<unknown>[] = [fetchRecent()];
    if (pageLoaded.value) jobs.push(fetchPage(pageFilters.value, pageCursor.value));
    for (const id of detailIds) jobs.push(fetchDetail(id));
    await Promise.all(jobs);
  }

  function matchesPage(run: RunSummary): boolean {
    const f = pageFilters.value;
    return (!f.status || f.status === run.status) && (!f.trigger || f.trigger === run.trigger);
  }

  /** The one entry point for changes: streamed events (already de-duplicated) and local ones (id 0). */
  function applyEvent(ev: StreamEvent): void {
    const runId = runIdOf(ev);
    if (runId == null || !(isRunLifecycleEvent(ev) || isPlatformEvent(ev))) return;

    const known = byId.value[runId];
    if (known) applyRunEvent(known, ev);
    else if (isRunLifecycleEvent(ev)) byId.value[runId] = entryFromEvent(ev);
    // A platform event of a run never seen (its creation missed without a resync) waits for run.finished.

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
      const retried = retryOf != null ? byId.value[retryOf] : undefined;
      if (retried && retried.retriedBy == null) retried.retriedBy = runId;
    }
  }

  return {
    byId: asGetter(byId),
    detailErrors: asGetter(detailErrors),
    recentIds: asGetter(recentIds),
    recentLoaded: asGetter(recentLoaded),
    recentError: asGetter(recentError),
    pageIds: asGetter(pageIds),
    pageFilters: asGetter(pageFilters),
    pageCursor: asGetter(pageCursor),
    pageNextCursor: asGetter(pageNextCursor),
    pageLoading: asGetter(pageLoading),
    pageLoaded: asGetter(pageLoaded),
    pageError: asGetter(pageError),
    recent,
    pageRuns,
    fetchRecent,
    fetchPage,
    fetchDetail,
    putSnapshot,
    setRetriedBy,
    refresh,
    applyEvent,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useRunsStore, import.meta.hot));
