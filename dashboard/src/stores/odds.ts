import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import { SCRAPE_JOB_ID, type BookmakerFreshness, type OddsPage, type SportingEventOdds, type StreamEvent } from '@contract';
import { api, errorMessage } from '@/api/client';
import { mergeBookmakerPrices } from '@/lib/odds';
import { asGetter } from './asGetter';

export const ODDS_PAGE_LIMIT = 20;

export interface OddsView {
  /** Platform filter (only the bookmakers it brings); null: every configured platform. */
  platform: string | null;
  /** Text search on the sporting event's name. */
  q: string;
  /** Page token of the page shown; null: the first page. */
  cursor: string | null;
}

/**
 * The page of odds the Odds page shows, while it is shown (`open`/`close`). Kept current without reloading the
 * table: a `platform.completed` refetches that platform's prices of this page only and merges them; the whole
 * page is read again on `open` and on `refresh` (useLiveSync's snapshot: reconnect and `resync`).
 * Requests run one at a time, in order, so an older answer never lands over a newer one.
 */
export const useOddsStore = defineStore('odds', () => {
  const view = ref<OddsView | null>(null);
  const items = ref<SportingEventOdds[]>([]);
  const nextCursor = ref<string | null>(null);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** How fresh each platform is, as the API last said (GET /api/odds' `bookmakers`), by platform. */
  const freshness = ref<Record<string, BookmakerFreshness>>({});
  /** The scrape interval and stale threshold the API used for `freshness`. */
  const scrapeIntervalSeconds = ref<number | null>(null);
  const staleAfterSeconds = ref<number | null>(null);
  /** The share from the consensus past which a price is an outlier, as the API said. */
  const outlierThreshold = ref<number | null>(null);
  /** Bookmakers whose prices the API calls frozen, as `platform\u0000bookmaker`. */
  const frozen = ref<ReadonlySet<string>>(new Set());
  /** Platforms whose prices to refetch (coalesced while a request runs). */
  const dirty = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  /** Bumped by every full load: a platform refetch queued before it is dropped (the full page has it). */
  let generation = 0;

  function takeFreshness(page: OddsPage, replace: boolean): void {
    const next = replace ? {} : { ...freshness.value };
    for (const bookmaker of page.bookmakers ?? []) next[bookmaker.platform] = bookmaker;
    freshness.value = next;
    scrapeIntervalSeconds.value = page.scrapeIntervalSeconds ?? null;
    staleAfterSeconds.value = page.staleAfterSeconds ?? null;
    outlierThreshold.value = page.outlierThreshold ?? null;
    const judged = new Set(replace ? [] : [...frozen.value].filter((key) => !(page.bookmakers ?? []).some((bookmaker) => key.startsWith(`${bookmaker.platform}\u0000`))));
    for (const { platform, bookmaker } of page.frozenBookmakers ?? []) judged.add(`${platform}\u0000${bookmaker}`);
    frozen.value = judged;
  }

  function enqueue(task: () => Promise<void>): Promise<void> {
    chain = chain.then(task, task);
    return chain;
  }

  /** `again`: the page shown read anew (a reconnect's snapshot): not dimmed as another page coming is. */
  function loadPage(again = false): Promise<void> {
    const gen = ++generation;
    dirty.clear();
    if (!again || !loaded.value) loading.value = true;
    return enqueue(async () => {
      const v = view.value;
      if (!v || gen !== generation) return;
      try {
        const page = await api.odds({ platform: v.platform ?? undefined, q: v.q || undefined, cursor: v.cursor ?? undefined, limit: ODDS_PAGE_LIMIT });
        if (view.value !== v || gen !== generation) return;
        items.value = page.items;
        nextCursor.value = page.nextCursor;
        takeFreshness(page, true);
        error.value = null;
      } catch (e) {
        error.value = errorMessage(e);
      } finally {
        if (gen === generation) {
          loading.value = false;
          loaded.value = true;
        }
      }
    });
  }

  function refetchPlatform(platform: string): Promise<void> {
    if (dirty.has(platform)) return chain;
    dirty.add(platform);
    const gen = generation;
    return enqueue(async () => {
      const v = view.value;
      if (!v || gen !== generation || !dirty.delete(platform)) return;
      try {
        const page = await api.odds({ platform, q: v.q || undefined, cursor: v.cursor ?? undefined, limit: ODDS_PAGE_LIMIT });
        if (view.value !== v || gen !== generation) return;
        mergeBookmakerPrices(items.value, page.items, platform, nextCursor.value == null);
        takeFreshness(page, false);
      } catch (e) {
        error.value = errorMessage(e);
      }
    });
  }

  /** The Odds page shows this view (filters and page token from its URL). */
  function open(next: OddsView): Promise<void> {
    const same = view.value && next.platform === view.value.platform && next.q === view.value.q && next.cursor === view.value.cursor;
    if (same && loaded.value) return chain;
    view.value = next;
    return loadPage();
  }

  function close(): void {
    view.value = null;
    generation++;
    dirty.clear();
    loaded.value = false;
    items.value = [];
    freshness.value = {};
  }

  /** The whole page again, if the Odds page is shown (after a reconnect or a `resync`). */
  const refresh = (): Promise<void> => (view.value ? loadPage(true) : Promise.resolve());

  /**
   * Only what a finished scrape changed: that platform's prices on this page, and its freshness. Progress events
   * change nothing. A new scrape interval moves every platform's stale threshold: the page again (an operator's
   * edit, rare; the scheduler's own ticks, which keep the interval, fetch nothing).
   */
  function applyEvent(ev: StreamEvent): void {
    if (!view.value) return;
    if (ev.type === 'scheduler.changed') {
      const interval = ev.data.scheduler.jobs.find((job) => job.id === SCRAPE_JOB_ID)?.intervalSeconds;
      if (loaded.value && interval !== undefined && scrapeIntervalSeconds.value !== null && interval !== scrapeIntervalSeconds.value) void loadPage(true);
      return;
    }
    if (ev.type !== 'platform.completed') return;
    const platform = ev.data.platform;
    if (view.value.platform && view.value.platform !== platform) return;
    void refetchPlatform(platform);
  }

  return { view: asGetter(view), items: asGetter(items), nextCursor: asGetter(nextCursor), loaded: asGetter(loaded), loading: asGetter(loading), error: asGetter(error), freshness: asGetter(freshness), scrapeIntervalSeconds: asGetter(scrapeIntervalSeconds), staleAfterSeconds: asGetter(staleAfterSeconds), outlierThreshold: asGetter(outlierThreshold), frozen: asGetter(frozen), open, close, refresh, applyEvent };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useOddsStore, import.meta.hot));
