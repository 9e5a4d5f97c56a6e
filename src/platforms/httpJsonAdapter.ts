import { z } from 'zod';
import { PlatformError, type PlatformAdapter, type ScrapedSelection } from './adapter.js';
import { startFeedRequest } from './feedRequestTelemetry.js';
import { readLimited } from './readLimited.js';
import { requestPacer } from './requestPacer.js';
import { redactText, redactUrl } from './redact.js';

/**
 * Reads a bookmaker's JSON feed: `GET {baseUrl}/events?page=N` ->
 * `{ page, totalPages, events: [{ id, name, markets: [{ name, selections: [{ name, price }] }] }] }`.
 */
const feedPage = z.object({
  page: z.number().int().min(1),
  totalPages: z.number().int().min(1).max(10_000),
  events: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string().min(1),
      markets: z.array(
        z.object({
          name: z.string().min(1),
          selections: z.array(z.object({ name: z.string().min(1), price: z.number().gt(1).lt(10_000) })),
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

  async function fetchPage(page: number, signal: AbortSignal): Promise<unknown> {
    await pace?.(signal);
    const request = feedRequest(platform.baseUrl, page);
    const headers: Record<string, string> = { accept: 'application/json', ...platform.headers };
    if (request.authorization && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
      headers.authorization = request.authorization;
    }
    const telemetry = startFeedRequest(request.url, page);
    let text: string | undefined;
    try {
      const response = await fetch(request.url, { signal, headers });
      telemetry.responded(response.status);
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new PlatformError(`feed answered HTTP ${response.status} on page ${page}`);
      }
      text = await readLimited(response, maxBytes, signal);
    } catch (error) {
      telemetry.failed(error);
      throw error;
    } finally {
      telemetry.end();
    }
    if (text === undefined) throw new PlatformError(`feed page ${page} is larger than ${maxBytes} bytes`);
    try {
      return JSON.parse(text);
    } catch {
      throw new PlatformError(`feed page ${page} is not valid JSON`);
    }
  }

  return {
    name: platform.name,
    baseUrl: redactUrl(platform.baseUrl.replace(/\/+$/, '')),
    timeoutMs: platform.timeoutMs,
    async scrape(signal, onProgress) {
      let eventsFound = 0;
      for (let page = 1, totalPages = 1; page <= totalPages; page += 1) {
        let body: unknown;
        try {
          body = await fetchPage(page, signal);
        } catch (error) {
          if (signal.aborted) throw error; // the caller words timeouts and aborts itself
          throw new PlatformError(clean(describe(error)));
        }
        const parsed = feedPage.safeParse(body);
        if (!parsed.success) throw new PlatformError(`feed page ${page} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
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

/** fetch wraps network errors in "fetch failed" with the reason in `cause`: keep both, no stack. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 300);
}
