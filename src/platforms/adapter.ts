/** The contract every bookmaker adapter fulfils. */
import type { RedirectOutcome, StepFailureReason } from '../shared/contract.js';

export interface ScrapedSelection {
  eventKey: string;
  eventName: string;
  market: string;
  selection: string;
  price: number;
}

export interface ScrapeProgress {
  /** Sporting events found so far on this platform. */
  eventsFound: number;
  /** Odds read in this batch (one page of the feed), to persist before the next one. */
  batch: ScrapedSelection[];
}

/** What an adapter reports beside its odds, for the step's telemetry. */
export interface ScrapeObserver {
  redirected(outcome: RedirectOutcome): void;
}

export interface PlatformAdapter {
  readonly name: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /**
   * Scrapes the platform, calling `onProgress` after each page (awaited: the adapter does not read
   * the next page before the batch is saved). Rejects when `signal` aborts. Resolves with the total
   * number of events found.
   */
  scrape(signal: AbortSignal, onProgress: (progress: ScrapeProgress) => Promise<void>, observer?: ScrapeObserver): Promise<number>;
}

/** A platform's failure, classified where it happens: `reason` is what the step records (never read from the message). */
export class PlatformError extends Error {
  override name = 'PlatformError';
  constructor(
    readonly reason: StepFailureReason,
    message: string,
  ) {
    super(message);
  }
}
