import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { MetaInfo, PlatformHealth, PlatformInfo, StepFailureReason, StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { NO_HEALTH, outcomeOf, withScrape } from '@/lib/health';
import { asGetter } from './asGetter';

/**
 * Configured platforms with their last outcome and their health (failure rate over the last scrapes, last
 * error), and the service's meta information.
 */
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
      items.value = (await api.platforms()).items.map((item) => ({ ...NO_HEALTH, ...item }));
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  /**
   * Only each platform's data quality, read again (the outlier and coverage checks are written after
   * `run.finished`, and a bookmaker's prices go stale with time alone: no event carries either).
   */
  async function refreshQuality() {
    try {
      const fresh = new Map((await api.platforms()).items.map((item) => [item.name, item.quality]));
      for (const item of items.value) if (fresh.has(item.name)) item.quality = fresh.get(item.name) ?? null;
    } catch {
      // The next refresh tries again; the page keeps what it shows, dated by its own reads.
    }
  }

  function record(platform: string, runId: number, outcome: 'completed' | 'failed', finishedAt: string, eventsFound: number, error: string | null, reason: StepFailureReason | null) {
    const item = items.value.find((p) => p.name === platform);
    if (!item || (item.lastFinishedAt != null && Date.parse(finishedAt) < Date.parse(item.lastFinishedAt))) return;
    // A run scrapes a platform once: its step seen again (platform event, then run.finished) replaces itself.
    const health = withScrape(item, { runId, outcome: outcomeOf(outcome, error), at: finishedAt, error, reason }, item.lastRunId === runId && item.recentOutcomes.length > 0);
    Object.assign(item, health, {
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
      const error = ev.type === 'platform.failed' ? ev.data.error : null;
      const reason = ev.type === 'platform.failed' ? (ev.data.reason ?? null) : null;
      record(ev.data.platform, ev.data.runId, ev.type === 'platform.completed' ? 'completed' : 'failed', ev.at, ev.data.eventsFound, error, reason);
    } else if (ev.type === 'run.finished') {
      for (const step of ev.data.run.steps) {
        if ((step.status === 'completed' || step.status === 'failed') && step.finishedAt) {
          record(step.platform, ev.data.runId, step.status, step.finishedAt, step.eventsFound, step.error, step.reason ?? null);
        }
      }
    }
  }

  /**
   * A platform's health read with its history (GET /api/platforms/:name/history), taken unless what the bookmakers
   * hold is newer (a scrape applied from the stream after that history was read).
   */
  function takeHealth(platform: string, health: PlatformHealth, newestFinishedAt: string | null) {
    const item = items.value.find((p) => p.name === platform);
    if (!item) return;
    if (item.lastFinishedAt != null && (newestFinishedAt == null || Date.parse(newestFinishedAt) < Date.parse(item.lastFinishedAt))) return;
    const { recentOutcomes, recentFailures, failureRate, lastError } = health;
    Object.assign(item, { recentOutcomes: [...recentOutcomes], recentFailures, failureRate, lastError });
  }

  return { items: asGetter(items), meta: asGetter(meta), loaded: asGetter(loaded), error: asGetter(error), fetchMeta, load, refreshQuality, applyEvent, takeHealth };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(usePlatformsStore, import.meta.hot));
