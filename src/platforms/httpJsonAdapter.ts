import { z } from 'zod';
import { PlatformError, type PlatformAdapter, type ScrapeObserver, type ScrapedSelection } from './adapter.js';
import { startFeedRequest } from './feedRequestTelemetry.js';
import { isChallengePage, reasonForFetchError, reasonForStatus } from './failureReason.js';
import { fetchWithinOrigin } from './originBoundFetch.js';
import { readLimited } from './readLimited.js';
import { requestPacer } from './requestPacer.js';
import { redactText, redactUrl } from './redact.js';
import { storedName, storedPriceSchema } from './storedValues.js';

/**
 * Reads a bookmaker's JSON feed: `GET {baseUrl}/events?page=N` ->
 * `{ page, totalPages, events: [{ id, name, markets: [{ name, selections: [{ name, price }] }] }] }`.
 */
const feedPage = z.object({
  page: z.number().int().min(1),
  totalPages: z.number().int().min(1).max(10_000),
  events: z.array(
    z.object({
      id: storedName,
      name: storedName,
      markets: z.array(
        z.object({
          name: storedName,
          selections: z.array(z.object({ name: storedName, price: storedPriceSchema })),
        }),
      ),
    }),
  ),
});

/** 10 MiB: a page of the largest real feed is well under 1 MiB; a runaway body must not fill memory. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export interface HttpJsonPlatform {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  /** Request headers (credentials): sent, never logged, returned or written anywhere. */
  headers?: Record<string, string>;
  /** A page larger than this fails the platform's step (default DEFAULT_MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number;
  /** At least this long between two requests to this feed (politeness), default none. */
  minRequestIntervalMs?: number;
  /** Origins besides baseUrl's own that a redirect may take the credentials to (a CDN of the same bookmaker). */
  redirectOrigins?: readonly string[];
}

/** `{baseUrl}/events?page=N`, keeping the base's own query (an API key) and moving userinfo to a header. */
export function feedRequest(baseUrl: string, page: number): { url: string; authorization?: string } {
  const url = new URL(baseUrl);
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  url.username = '';
  url.password = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/events`;
  url.searchParams.set('page', String(page));
  return { url: url.toString(), authorization };
}

export function createHttpJsonAdapter(platform: HttpJsonPlatform): PlatformAdapter {
  const maxBytes = platform.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const base = new URL(platform.baseUrl);
  // Everything an error message could echo that must not leave the process.
  const secrets = [...Object.values(platform.headers ?? {}), decodeURIComponent(base.password), decodeURIComponent(base.username)].filter(Boolean);
  for (const [, value] of base.searchParams) secrets.push(value);
  const clean = (message: string) => redactText(message, secrets.filter((value) => value.length >= 8));

  const pace = platform.minRequestIntervalMs ? requestPacer(platform.minRequestIntervalMs) : undefined;

  const trustedOrigins = new Set((platform.redirectOrigins ?? []).map((origin) => new URL(origin).origin));

  async function fetchPage(page: number, signal: AbortSignal, observer: ScrapeObserver | undefined): Promise<unknown> {
    await pace?.(signal);
    const request = feedRequest(platform.baseUrl, page);
    const credentials: Record<string, string> = { ...platform.headers };
    if (request.authorization && !Object.keys(credentials).some((name) => name.toLowerCase() === 'authorization')) {
      credentials.authorization = request.authorization;
    }
    const telemetry = startFeedRequest(request.url, page);
    let text: string | undefined;
    try {
      const response = await fetchWithinOrigin({
        url: new URL(request.url),
        headers: { accept: 'application/json' },
        credentials,
        trustedOrigins,
        signal,
        onRedirect: (outcome) => observer?.redirected(outcome),
      });
      telemetry.responded(response.status);
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new PlatformError(reasonForStatus(response.status), `feed answered HTTP ${response.status} on page ${page}`);
      }
      text = await readLimited(response, maxBytes, signal);
    } catch (error) {
      telemetry.failed(error);
      throw error;
    } finally {
      telemetry.end();
    }
    if (text === undefined) throw new PlatformError('too_large', `feed page ${page} is larger than ${maxBytes} bytes`);
    try {
      return JSON.parse(text);
    } catch {
      if (isChallengePage(text)) throw new PlatformError('blocked', `feed page ${page} is a challenge page (HTML), not JSON`);
      throw new PlatformError('parse', `feed page ${page} is not valid JSON`);
    }
  }

  return {
    name: platform.name,
    baseUrl: redactUrl(platform.baseUrl.replace(/\/+$/, '')),
    timeoutMs: platform.timeoutMs,
    async scrape(signal, onProgress, observer) {
      let eventsFound = 0;
      for (let page = 1, totalPages = 1; page <= totalPages; page += 1) {
        let body: unknown;
        // A signal of its own per page: fetch keeps its abort listener on the signal it was given until the
        // request is garbage-collected, so one signal shared by thousands of pages piles up listeners.
        const pageSignal = new AbortController();
        const abortPage = () => pageSignal.abort(signal.reason);
        signal.addEventListener('abort', abortPage, { once: true });
        try {
          signal.throwIfAborted();
          body = await fetchPage(page, pageSignal.signal, observer);
        } catch (error) {
          if (signal.aborted) throw error; // the caller words timeouts and aborts itself
          throw error instanceof PlatformError ? error : new PlatformError(reasonForFetchError(error), clean(describe(error)));
        } finally {
          signal.removeEventListener('abort', abortPage);
        }
        const parsed = feedPage.safeParse(body);
        if (!parsed.success) throw new PlatformError('parse', `feed page ${page} is malformed: ${describeIssue(parsed.error.issues[0])}`);
        totalPages = parsed.data.totalPages;
        const batch: ScrapedSelection[] = parsed.data.events.flatMap((event) =>
          event.markets.flatMap((market) =>
            market.selections.map((selection) => ({
              eventKey: event.id,
              eventName: event.name,
              market: market.name,
              selection: selection.name,
              price: selection.price,
            })),
          ),
        );
        eventsFound += parsed.data.events.length;
        await onProgress({ eventsFound, batch });
      }
      return eventsFound;
    },
  };
}

/** Where and what, never the value: a refused name may be huge, hold control characters or a secret. */
function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const where = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
  return `${where || 'page'} ${issue.message}`.slice(0, 200);
}

/** fetch wraps network errors in "fetch failed" with the reason in `cause`: keep both, no stack. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 300);
}
