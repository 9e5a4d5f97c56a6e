import { FAILURE_RATE_WINDOW } from '@contract';
import type { PlatformHealth, ScrapeOutcome, StepFailureReason } from '@contract';
import { plural } from './format';

/** Which bookmaker is failing and why: its failure rate over its last scrapes and its last error (pure, no Vue). */

/** A failed step's outcome from its error, as the server tells them apart (src/history/scrapeHistory.ts). */
export function outcomeOf(status: 'completed' | 'failed', error: string | null): ScrapeOutcome {
  if (status === 'completed') return 'completed';
  if (error?.startsWith('timed out after ')) return 'timeout';
  if (error && /^(aborted|run ended)/.test(error)) return 'aborted';
  return 'failed';
}

export const NO_HEALTH: PlatformHealth = { recentOutcomes: [], recentFailures: 0, failureRate: null, lastError: null };

export interface FinishedScrape {
  runId: number;
  outcome: ScrapeOutcome;
  at: string;
  error: string | null;
  reason: StepFailureReason | null;
}

/**
 * The health after one more finished scrape, as the server would count it: the scrape joins the window (or
 * replaces the newest one when `replacesNewest`: the same step seen again), the window keeps its last
 * FAILURE_RATE_WINDOW, and a failure with an error becomes the last error.
 */
export function withScrape(health: PlatformHealth, scrape: FinishedScrape, replacesNewest = false): PlatformHealth {
  const kept = replacesNewest ? health.recentOutcomes.slice(0, -1) : health.recentOutcomes;
  const recentOutcomes = [...kept, scrape.outcome].slice(-FAILURE_RATE_WINDOW);
  const recentFailures = recentOutcomes.filter((o) => o !== 'completed').length;
  const lastError =
    scrape.outcome !== 'completed' && scrape.error ? { message: scrape.error, at: scrape.at, runId: scrape.runId, outcome: scrape.outcome, reason: scrape.reason } : health.lastError;
  return { recentOutcomes, recentFailures, failureRate: recentFailures / recentOutcomes.length, lastError };
}

/** "2 of last 20 scrapes failed (10%)"; null before the first finished scrape. */
export function failureRateText(health: PlatformHealth): string | null {
  const scrapes = health.recentOutcomes.length;
  if (scrapes === 0 || health.failureRate === null) return null;
  return `${health.recentFailures} of last ${plural(scrapes, 'scrape')} failed (${Math.round(health.failureRate * 100)}%)`;
}
