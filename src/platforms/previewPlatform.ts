import { PREVIEW_SELECTIONS_LISTED, type PlatformPreview, type PlatformPreviewSelection, type RejectedPriceReason, type StepFailureReason } from '../shared/contract.js';
import { PlatformError, type PlatformAdapter, type QuotaReport, type ScrapedSelection, type ScrapeObserver } from './adapter.js';
import type { BrowserPool } from './browser/browserPool.js';
import { createAdapter } from './createAdapter.js';
import { eventParticipants } from './matching/participants.js';
import { canonicalSelection } from './matching/selections.js';
import { entrySecrets, parsePlatformEntry, PlatformEntryError } from './platformsFile.js';
import { redactText } from './redact.js';
import { storedMessage } from './storedValues.js';

/** The longest a preview scrapes, whatever the entry's timeoutMs (an operator waits for the answer). */
export const PREVIEW_MAX_MS = 30_000;

export interface PreviewRequest {
  /** One entry as it would stand in PLATFORMS_FILE. */
  entry: unknown;
  defaultTimeoutMs: number;
  /** The replica's browser, for a `browser` entry (the preview's page takes a slot like a step's). */
  browsers?: BrowserPool;
  /** Where `{ "env": "NAME" }` secrets are read from (the service's environment). */
  env: Record<string, string | undefined>;
  /** Aborts when the client leaves. */
  signal: AbortSignal;
  /** Matching against what is stored (absent: `matchedExisting` is null). */
  countMatchedExisting?(selections: readonly ScrapedSelection[]): Promise<number>;
  /** An error no adapter classified (a defect of ours): for the log, the answer says only `unexpected`. */
  onUnexpected?(error: unknown): void;
}

/**
 * Scrapes the first page of an entry the way a run would (same adapter, same HTTP client, forbidden
 * addresses refused), under the entry's timeout capped at PREVIEW_MAX_MS, and stores nothing. Throws a
 * PlatformEntryError when the entry is invalid (where and what, never a value); a failing platform is an
 * answer (`ok: false` with its reason), not an error.
 */
export async function previewPlatform(request: PreviewRequest): Promise<PlatformPreview> {
  const entry = parsePlatformEntry(request.entry, request.defaultTimeoutMs, request.env);
  const secrets = entrySecrets(entry);
  let adapter: PlatformAdapter;
  try {
    adapter = createAdapter(entry, request.browsers);
  } catch (error) {
    // The adapter refused what the schema let through (a select that does not compile): still the entry's fault.
    throw new PlatformEntryError(redactText(storedMessage(error instanceof Error ? error.message : String(error)), secrets));
  }
  try {
    return await scrapeFirstPage(adapter, request, secrets);
  } finally {
    await adapter.close?.().catch(() => undefined);
  }
}

async function scrapeFirstPage(adapter: PlatformAdapter, request: PreviewRequest, secrets: readonly string[]): Promise<PlatformPreview> {
  const timeoutMs = Math.min(adapter.timeoutMs, PREVIEW_MAX_MS);
  const timeout = AbortSignal.timeout(timeoutMs);
  const selections: ScrapedSelection[] = [];
  const rejected: Partial<Record<RejectedPriceReason, number>> = {};
  let quota = null as QuotaReport | null; // set in a callback: no narrowing to null
  let eventsFound = 0;
  const observer: ScrapeObserver = {
    redirected() {},
    rejectedPrice(reason) {
      rejected[reason] = (rejected[reason] ?? 0) + 1;
    },
    quota(report) {
      quota = report;
    },
  };
  let reason: StepFailureReason | null = null;
  let error: string | null = null;
  try {
    request.signal.throwIfAborted();
    eventsFound = await adapter.scrape(
      AbortSignal.any([timeout, request.signal]),
      async (progress) => {
        eventsFound = progress.eventsFound;
        selections.push(...progress.batch);
      },
      observer,
      1,
    );
  } catch (cause) {
    if (request.signal.aborted) throw cause; // the client left: nobody reads the answer
    if (timeout.aborted) {
      reason = 'timeout';
      error = `timed out after ${timeoutMs} ms`;
    } else if (cause instanceof PlatformError) {
      reason = cause.reason;
      error = storedMessage(cause.message);
    } else {
      request.onUnexpected?.(cause);
      reason = 'unexpected';
      error = 'an error no adapter classified (see the service log)';
    }
  }
  const matchedExisting = request.countMatchedExisting ? await request.countMatchedExisting(selections) : null;
  return {
    ok: reason === null,
    kind: adapter.kind,
    reason,
    error: error === null ? null : redactText(error, secrets),
    eventsFound,
    selectionsFound: selections.length,
    selections: selections.slice(0, PREVIEW_SELECTIONS_LISTED).map(asListed),
    bookmakers: [...new Set(selections.map((selection) => selection.bookmaker))],
    rejectedPrices: rejected,
    quota: quota === null ? null : { remaining: quota.remaining, used: quota.used },
    matchedExisting,
  };
}

/** As a run would store it: market and selection under their canonical names. */
function asListed(selection: ScrapedSelection): PlatformPreviewSelection {
  const canonical = canonicalSelection(selection.market, selection.selection, eventParticipants(selection));
  return {
    eventKey: selection.eventKey,
    eventName: selection.eventName,
    home: selection.home ?? null,
    away: selection.away ?? null,
    startsAt: selection.startsAt ?? null,
    market: canonical.market,
    selection: canonical.selection,
    price: selection.price,
    priceText: selection.priceText,
    bookmaker: selection.bookmaker,
  };
}
