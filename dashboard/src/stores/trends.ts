import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { PlatformScrape, RunHistoryPoint, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { outcomeOf } from '@/lib/health';
import { usePlatformsStore } from '@/stores/platforms';
import { asGetter } from './asGetter';

/** As many points as GET /api/platforms/:name/history and /api/runs/history return by default. */
export const TREND_POINTS = 50;


/** Adds or replaces (same run) a point, keeping the last TREND_POINTS in order. */
function put<T>(list: T[], point: T, same: (a: T) => boolean): T[] {
  const i = list.findIndex(same);
  if (i >= 0) return list.map((x, j) => (j === i ? point : x));
  return [...list, point].slice(-TREND_POINTS);
}

/**
 * Trend series (bookmaker scrapes, runs), read over REST only for what a page shows (`watchPlatforms`,
 * `watchRuns`), then extended from the stream: a finished scrape or run is a new point, no refetch. Read again
 * on `refresh` (useLiveSync's snapshot: reconnect and `resync`).
 */
export const useTrendsStore = defineStore('trends', () => {
  const scrapes = ref<Record<string, PlatformScrape[]>>({});
  const scrapeErrors = ref<Record<string, string>>({});
  const runs = ref<RunHistoryPoint[] | null>(null);
  const runsError = ref<string | null>(null);
  const watched = new Set<string>();
  let runsWatched = false;

  async function loadPlatform(name: string) {
    try {
      const history = await api.platformHistory(name);
      scrapes.value[name] = history.items;
      // The same health as GET /api/platforms, read later: the bookmakers' one copy takes it.
      usePlatformsStore().takeHealth(name, history, history.items.at(-1)?.finishedAt ?? null);
      delete scrapeErrors.value[name];
    } catch (e) {
      scrapeErrors.value[name] = errorMessage(e);
    }
  }

  async function loadRuns() {
    try {
      runs.value = (await api.runHistory()).items;
      runsError.value = null;
    } catch (e) {
      runsError.value = errorMessage(e);
    }
  }

  /** Loads the histories of these bookmakers once; later points come from the stream. */
  async function watchPlatforms(names: string[]) {
    const fresh = names.filter((n) => !watched.has(n));
    fresh.forEach((n) => watched.add(n));
    await Promise.all(fresh.map(loadPlatform));
  }

  async function watchRuns() {
    if (runsWatched) return;
    runsWatched = true;
    await loadRuns();
  }

  async function refresh() {
    await Promise.all([...[...watched].map(loadPlatform), runsWatched ? loadRuns() : undefined]);
  }

  function addScrape(platform: string, point: PlatformScrape) {
    const list = scrapes.value[platform];
    if (list) scrapes.value[platform] = put(list, point, (p) => p.runId === point.runId);
  }

  function applyEvent(ev: StreamEvent): void {
    if (ev.type === 'platform.completed' || ev.type === 'platform.failed') {
      const error = ev.type === 'platform.failed' ? ev.data.error : null;
      const reason = ev.type === 'platform.failed' ? (ev.data.reason ?? null) : null;
      addScrape(ev.data.platform, {
        runId: ev.data.runId,
        startedAt: new Date(Date.parse(ev.at) - ev.data.durationMs).toISOString(),
        finishedAt: ev.at,
        durationMs: ev.data.durationMs,
        eventsFound: ev.data.eventsFound,
        outcome: outcomeOf(ev.type === 'platform.completed' ? 'completed' : 'failed', error),
        hasError: error != null,
        error,
        reason,
        volumeDrop: ev.type === 'platform.completed' ? (ev.data.volumeDrop ?? null) : null,
      });
    } else if (ev.type === 'run.finished') {
      const run = ev.data.run;
      // Steps another process ended (the watchdog) sent no platform event: the final steps carry them.
      for (const step of run.steps) {
        if ((step.status !== 'completed' && step.status !== 'failed') || !step.finishedAt) continue;
        if (scrapes.value[step.platform]?.some((p) => p.runId === run.id)) continue;
        addScrape(step.platform, {
          runId: run.id,
          startedAt: step.startedAt,
          finishedAt: step.finishedAt,
          durationMs: step.durationMs,
          eventsFound: step.eventsFound,
          outcome: outcomeOf(step.status, step.error),
          hasError: step.error != null,
          error: step.error,
          reason: step.reason ?? null,
          volumeDrop: step.volumeDrop,
        });
      }
      if (runs.value && run.finishedAt) {
        const point: RunHistoryPoint = {
          id: run.id,
          status: ev.data.status,
          trigger: run.trigger,
          failureReason: ev.data.failureReason,
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
          durationMs: run.startedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null,
        };
        runs.value = put(runs.value, point, (p) => p.id === run.id);
      }
    }
  }

  return { scrapes: asGetter(scrapes), scrapeErrors: asGetter(scrapeErrors), runs: asGetter(runs), runsError: asGetter(runsError), watchPlatforms, watchRuns, refresh, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useTrendsStore, import.meta.hot));
