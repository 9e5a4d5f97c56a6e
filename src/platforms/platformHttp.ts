import { PlatformError, type ScrapeObserver } from './adapter.js';
import { isChallengePage, reasonForFetchError, reasonForStatus } from './failureReason.js';
import { startFeedRequest } from './feedRequestTelemetry.js';
import { fetchWithinOrigin } from './originBoundFetch.js';
import { readLimited } from './readLimited.js';
import { redactText } from './redact.js';
import { requestPacer } from './requestPacer.js';

/** 10 MiB: a page of the largest real platform is well under 1 MiB; a runaway body must not fill memory. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** Of a failed response, only this much is read, and only for a request that classifies its failures. */
export const ERROR_BODY_BYTES = 16 * 1024;

/** What every kind shares about reaching a platform over HTTP (the common keys of a PLATFORMS_FILE entry). */
export interface PlatformConnection {
  name: string;
  timeoutMs: number;
  /** Request headers (credentials): sent, never logged, returned or written anywhere. */
  headers?: Record<string, string>;
  /** A response larger than this fails the step as `too_large` (default DEFAULT_MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number;
  /** At least this long between two requests to this platform (politeness), default none. */
  minRequestIntervalMs?: number;
  /** Origins besides the platform's own that a redirect may take the credentials to (a CDN of the same bookmaker). */
  redirectOrigins?: readonly string[];
}

export interface PlatformRequest {
  /** May hold userinfo (sent as Basic authorization, never in the URL) and a key in its query. */
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  contentType?: string;
  accept: string;
  /** The page's number, for its span and messages. */
  page: number;
  /**
   * A failed status as something more precise than reasonForStatus (a quota used up); undefined keeps the default.
   * `body`: the failed response's body when it is at most ERROR_BODY_BYTES (an API's error code), else undefined.
   */
  classifyStatus?(status: number, headers: Headers, body: string | undefined): PlatformError | undefined;
}

export interface PlatformResponse {
  status: number;
  headers: Headers;
  /** The body read as UTF-8 (decoded on first read). */
  readonly text: string;
  /** The body as it came, for a kind that decodes it itself (the html kind reads the page's charset). */
  bytes: Buffer;
}

export interface PlatformHttp {
  /**
   * One request: paced, credentials kept to their origin, a client span, the body read up to the size
   * limit. Fails with a PlatformError carrying its reason; an abort of `signal` is rethrown as it is
   * (the caller words timeouts). Only a 2xx answer resolves.
   */
  request(request: PlatformRequest, signal: AbortSignal, observer: ScrapeObserver): Promise<PlatformResponse>;
  /** Text with every credential of this platform masked (for an error message). */
  clean(message: string): string;
}

/**
 * `secrets`: values beside the headers that must never appear in a message (an API key the kind puts in
 * the query string).
 */
export function createPlatformHttp(connection: PlatformConnection, secrets: readonly string[] = []): PlatformHttp {
  const maxBytes = connection.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const known = [...Object.values(connection.headers ?? {}), ...secrets].filter((value) => value.length >= 8);
  const clean = (message: string) => redactText(message, known);
  const pace = connection.minRequestIntervalMs ? requestPacer(connection.minRequestIntervalMs) : undefined;
  const trustedOrigins = new Set((connection.redirectOrigins ?? []).map((origin) => new URL(origin).origin));

  async function send(request: PlatformRequest, signal: AbortSignal, observer: ScrapeObserver): Promise<PlatformResponse> {
    await pace?.(signal);
    const url = new URL(request.url);
    const credentials: Record<string, string> = { ...connection.headers };
    if ((url.username || url.password) && !Object.keys(credentials).some((name) => name.toLowerCase() === 'authorization')) {
      credentials.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    }
    for (const value of [decodeURIComponent(url.username), decodeURIComponent(url.password)]) if (value.length >= 4) known.push(value);
    url.username = '';
    url.password = '';
    const telemetry = startFeedRequest(url.toString(), request.page, request.method ?? 'GET');
    try {
      const response = await fetchWithinOrigin({
        url,
        method: request.method ?? 'GET',
        ...(request.body === undefined ? {} : { body: request.body }),
        headers: { accept: request.accept, ...(request.contentType ? { 'content-type': request.contentType } : {}) },
        credentials,
        trustedOrigins,
        signal,
        onRedirect: (outcome) => observer.redirected(outcome),
      });
      telemetry.responded(response.status);
      if (response.status < 200 || response.status > 299) {
        const body = request.classifyStatus ? (await readLimited(response, ERROR_BODY_BYTES, signal).catch(() => undefined))?.toString('utf8') : undefined;
        if (!request.classifyStatus) await response.body?.cancel().catch(() => undefined);
        throw (
          request.classifyStatus?.(response.status, response.headers, body) ??
          new PlatformError(reasonForStatus(response.status), `platform answered HTTP ${response.status} on page ${request.page}`)
        );
      }
      const bytes = await readLimited(response, maxBytes, signal);
      if (bytes === undefined) throw new PlatformError('too_large', `page ${request.page} is larger than ${maxBytes} bytes`);
      let text: string | undefined;
      return {
        status: response.status,
        headers: response.headers,
        bytes,
        get text() {
          return (text ??= bytes.toString('utf8'));
        },
      };
    } catch (error) {
      telemetry.failed(error);
      throw error;
    } finally {
      telemetry.end();
    }
  }

  return {
    clean,
    async request(request, signal, observer) {
      // A signal of its own per request: fetch keeps its abort listener on the signal it was given until the
      // request is garbage-collected, so one signal shared by thousands of pages piles up listeners.
      const requestSignal = new AbortController();
      const abort = () => requestSignal.abort(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      try {
        signal.throwIfAborted();
        return await send(request, requestSignal.signal, observer);
      } catch (error) {
        if (signal.aborted) throw error; // the caller words timeouts and aborts itself
        throw error instanceof PlatformError ? error : new PlatformError(reasonForFetchError(error), clean(describe(error)));
      } finally {
        signal.removeEventListener('abort', abort);
      }
    },
  };
}

/** A JSON body, or the reason it is none: `blocked` for a challenge page, else `parse`. */
export function parseJsonBody(text: string, page: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    if (isChallengePage(text)) throw new PlatformError('blocked', `page ${page} is a challenge page (HTML), not JSON`);
    throw new PlatformError('parse', `page ${page} is not valid JSON`);
  }
}

/** fetch wraps network errors in "fetch failed" with the reason in `cause`: keep both, no stack. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 300);
}
