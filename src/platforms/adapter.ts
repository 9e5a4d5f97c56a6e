/** The contract every platform adapter fulfils, whatever its kind. */
import type { PlatformKind, RedirectOutcome, RejectedPriceReason, StepFailureReason } from '../shared/contract.js';

/**
 * One price as an adapter hands it over: already checked against what the columns store (names by
 * storedName, the price parsed by prices.ts `parsePrice`), so nothing here can fail a write.
 */
export interface ScrapedSelection {
  /** The platform's own id of the sporting event (unique within the platform, not across platforms). */
  eventKey: string;
  /** The platform's own name for it ("Arsenal v Benfica"). */
  eventName: string;
  /** Participants as the platform names them, when it names them apart; else matching splits eventName. */
  home?: string;
  away?: string;
  /** When the sporting event starts (ISO 8601), when the platform says; matching needs it. */
  startsAt?: string;
  market: string;
  selection: string;
  /** Decimal, rounded to PRICE_DECIMALS places. */
  price: number;
  /** The price as the platform wrote it ("7/5", "+140", "2.40"). */
  priceText: string;
  /** Who offers the price: the platform itself for every kind but odds-api. */
  bookmaker: string;
}

export interface ScrapeProgress {
  /** Sporting events found so far on this platform. */
  eventsFound: number;
  /** Odds read in this batch (one page of the platform), to persist before the next one. */
  batch: ScrapedSelection[];
}

/** A platform's request quota as its API reports it (odds-api's x-requests-* headers). */
export interface QuotaReport {
  remaining: number;
  used: number | null;
  /** What the request that reported it cost (odds-api: x-requests-last), when the API says. */
  last?: number;
}

/** What an adapter reports beside its odds, for the step's telemetry. */
export interface ScrapeObserver {
  redirected(outcome: RedirectOutcome): void;
  /** A price the platform sent that is no valid price: dropped, never stored. */
  rejectedPrice(reason: RejectedPriceReason): void;
  quota(report: QuotaReport): void;
}

export interface PlatformAdapter {
  readonly name: string;
  readonly kind: PlatformKind;
  /** Where it reads, redacted (no credential): safe to show. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /**
   * Scrapes the platform, calling `onProgress` after each page (awaited: the adapter does not read
   * the next page before the batch is saved). Rejects when `signal` aborts, with a PlatformError when
   * the platform fails. Resolves with the total number of sporting events found.
   * `maxPages` (the preview's 1) stops after that many pages.
   */
  scrape(signal: AbortSignal, onProgress: (progress: ScrapeProgress) => Promise<void>, observer: ScrapeObserver, maxPages?: number): Promise<number>;
  /** Releases what the adapter holds (a browser); most kinds hold nothing. */
  close?(): Promise<void>;
}

/**
 * What a browser page looked like when its step failed, for the operator to read what changed (a `layout`
 * failure is fixed by reading the page as it is now). Bounded by the adapter; never holds a credential.
 */
export interface PageCapture {
  /** Where the page was, redacted. */
  url: string;
  /** A PNG of the viewport; null when the page could not be drawn (a crashed browser). */
  screenshot: Buffer | null;
  /** The rendered DOM's HTML, cut at the adapter's bound; scripts are kept as text, never run by whoever shows it. */
  html: string;
  /** Whether `html` was cut at the bound. */
  htmlTruncated: boolean;
}

/** A platform's failure, classified where it happens: `reason` is what the step records (never read from the message). */
export class PlatformError extends Error {
  override name = 'PlatformError';
  constructor(
    readonly reason: StepFailureReason,
    message: string,
    /** The page at the moment of failure (browser platforms only). */
    readonly capture?: PageCapture,
  ) {
    super(message);
  }
}

/** An observer that drops everything (tests, benches). */
export const IGNORE_OBSERVATIONS: ScrapeObserver = { redirected() {}, rejectedPrice() {}, quota() {} };
