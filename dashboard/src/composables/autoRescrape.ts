import type { RunDetail, RunSummary } from '@contract';
import type { Api } from '@/api/client';
import { isApiError } from '@/api/client';

export const AUTO_RETRY_KEY_PREFIX = 'oddswatch.autoRetry.';
export const autoRetryKey = (runId: number): string => `${AUTO_RETRY_KEY_PREFIX}${runId}`;

export type AutoRescrapeOutcome =
  | { kind: 'nothing' }
  /** This tab already tried for that run (sessionStorage guard): no second attempt, even after a reload. */
  | { kind: 'guarded'; lostRunId: number }
  | { kind: 'started'; lostRunId: number; retryRun: RunDetail }
  /** The server's once-only rule: somebody (another tab, an earlier attempt) already retried it. */
  | { kind: 'already_retried'; lostRunId: number; retriedBy: number | null }
  | { kind: 'run_active'; lostRunId: number; activeRunId: number | null }
  | { kind: 'failed'; lostRunId: number; error: unknown };

export interface AutoRescrapeDeps {
  api: Pick<Api, 'listRuns' | 'startRun'>;
  /** sessionStorage in the app; null when the browser refuses storage (the in-memory guard still holds). */
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
}

/** In-memory guard for this page, in case storage is unavailable. */
const attemptedThisPage = new Set<number>();

/** For tests only. */
export function resetAutoRescrapeMemory() {
  attemptedThisPage.clear();
}

function guarded(storage: AutoRescrapeDeps['storage'], runId: number): boolean {
  if (attemptedThisPage.has(runId)) return true;
  try {
    return storage?.getItem(autoRetryKey(runId)) != null;
  } catch {
    return false;
  }
}

function setGuard(storage: AutoRescrapeDeps['storage'], runId: number) {
  attemptedThisPage.add(runId);
  try {
    storage?.setItem(autoRetryKey(runId), new Date().toISOString());
  } catch {
    /* storage refused: the page guard and the server's once-only rule remain */
  }
}

/**
 * Recovery after a lost connection: when the latest run is `connection_failed` and nobody retried it yet,
 * start one `retry` run. Three things make a loop impossible: the guard is written *before* the POST (a reload
 * mid-request does not try again), the guard is per run id (a retry that itself loses its connection gets its
 * own single attempt), and the server refuses a second retry of the same run (409 `already_retried`).
 */
export async function autoRescrape(deps: AutoRescrapeDeps): Promise<AutoRescrapeOutcome> {
  let latest: RunSummary | undefined;
  try {
    latest = (await deps.api.listRuns({ limit: 1 })).items[0];
  } catch {
    return { kind: 'nothing' };
  }
  if (!latest || latest.status !== 'connection_failed' || latest.retriedBy != null) return { kind: 'nothing' };
  const lostRunId = latest.id;
  if (guarded(deps.storage, lostRunId)) return { kind: 'guarded', lostRunId };

  setGuard(deps.storage, lostRunId);
  try {
    const retryRun = await deps.api.startRun({ retryOf: lostRunId });
    return { kind: 'started', lostRunId, retryRun };
  } catch (e) {
    if (isApiError(e, 'already_retried')) return { kind: 'already_retried', lostRunId, retriedBy: e.detailNumber('retriedBy') };
    if (isApiError(e, 'run_active')) return { kind: 'run_active', lostRunId, activeRunId: e.detailNumber('activeRunId') };
    if (isApiError(e) && e.status === 0) {
      // Never reached the server: allow a later page load to try again (the server rule still guards).
      attemptedThisPage.delete(lostRunId);
      try {
        deps.storage?.removeItem(autoRetryKey(lostRunId));
      } catch {
        /* ignore */
      }
    }
    return { kind: 'failed', lostRunId, error: e };
  }
}
