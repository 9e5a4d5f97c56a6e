import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { JOB_INTERVAL_SECONDS, SCRAPE_JOB_ID, WATCHDOG_JOB_ID } from '@contract';
import type { JobId, RunDetail, SchedulerJob, SchedulerState, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { localSchedulerEvent } from '@/lib/localEvents';
import { asGetter } from './asGetter';

/** The service's bounds, from the contract (the same constants validate PATCH /api/scheduler/jobs/:id). */
export const MIN_INTERVAL_SECONDS = JOB_INTERVAL_SECONDS.min;
export const MAX_INTERVAL_SECONDS = JOB_INTERVAL_SECONDS.max;

/** Null when valid, else the reason (shown next to the field). */
export function validateInterval(raw: unknown): string | null {
  const n = typeof raw === 'number' ? raw : Number(String(raw ?? '').trim());
  if (String(raw ?? '').trim() === '' || !Number.isFinite(n)) return 'Enter a number of seconds.';
  if (!Number.isInteger(n)) return 'Use whole seconds.';
  if (n < MIN_INTERVAL_SECONDS || n > MAX_INTERVAL_SECONDS)
    return `Between ${MIN_INTERVAL_SECONDS} and ${MAX_INTERVAL_SECONDS} seconds.`;
  return null;
}

/**
 * Jobs are looked up by id, never by position: the old product read `jobs[0]` and showed the watchdog's
 * 2-minute interval as the scrape interval.
 */
export function findJob(state: SchedulerState | null, id: JobId): SchedulerJob | null {
  return state?.jobs.find((j) => j.id === id) ?? null;
}

export const useSchedulerStore = defineStore('scheduler', () => {
  const state = ref<SchedulerState | null>(null);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  /** Which action is in flight ('pause' | 'resume' | 'interval' | 'run'), for disabling buttons. */
  const busy = ref<string | null>(null);

  const scrapeJob = computed(() => findJob(state.value, SCRAPE_JOB_ID));
  const watchdogJob = computed(() => findJob(state.value, WATCHDOG_JOB_ID));
  const paused = computed(() => state.value?.paused ?? scrapeJob.value?.paused ?? false);

  async function load() {
    try {
      applyEvent(localSchedulerEvent(await api.scheduler()));
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  async function withBusy<T>(what: string, call: () => Promise<T>): Promise<T> {
    busy.value = what;
    try {
      return await call();
    } finally {
      busy.value = null;
    }
  }

  const pause = () => withBusy('pause', async () => applyEvent(localSchedulerEvent(await api.pauseScheduler())));
  const resume = () => withBusy('resume', async () => applyEvent(localSchedulerEvent(await api.resumeScheduler())));

  async function setJobInterval(seconds: number, jobId: JobId = SCRAPE_JOB_ID) {
    const invalid = validateInterval(seconds);
    if (invalid) throw new RangeError(invalid);
    await withBusy('interval', async () => {
      const job = await api.setJobInterval(jobId, seconds);
      const current = state.value ?? { paused: false, jobs: [] };
      const jobs = current.jobs.some((j) => j.id === job.id)
        ? current.jobs.map((j) => (j.id === job.id ? job : j))
        : [...current.jobs, job];
      applyEvent(localSchedulerEvent({ paused: current.paused, jobs }));
    });
  }

  /** "Run now": the scrape job starts a run (returned), the watchdog reports how many stale runs it failed. */
  function runNow(jobId: JobId = SCRAPE_JOB_ID): Promise<{ run: RunDetail } | { staleRunsFailed: number }> {
    return withBusy('run', () => api.runJob(jobId));
  }

  /** Streamed (already de-duplicated) and local scheduler events: the state as sent. */
  function applyEvent(ev: StreamEvent): void {
    if (ev.type !== 'scheduler.changed') return;
    state.value = ev.data.scheduler;
    loaded.value = true;
  }

  return { state: asGetter(state), loaded: asGetter(loaded), error: asGetter(error), busy: asGetter(busy), scrapeJob, watchdogJob, paused, load, pause, resume, setJobInterval, runNow, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useSchedulerStore, import.meta.hot));
