import { trace } from '@opentelemetry/api';
import { PlatformError, type PlatformAdapter, type QuotaReport } from '../adapter.js';
import { createPlatformHttp, parseJsonBody } from '../platformHttp.js';
import type { PlatformEntry } from '../platformsFile.js';
import { redactUrl } from '../redact.js';
import { readOddsResponse } from './oddsApiResponse.js';

type OddsApiPlatform = Extract<PlatformEntry, { kind: 'odds-api' }>;

/**
 * The `odds-api` kind (docs/kinds/odds-api.md): The Odds API v4, one request per scrape,
 * `GET {baseUrl}/v4/sports/{sport}/odds`, many bookmakers' prices in one array of sporting events.
 * The key travels in the query (the API takes it nowhere else): createPlatformHttp masks it in every
 * message, and the client span's URL is redacted (`apiKey` is a secret parameter name, redact.ts).
 */
export function oddsApiUrl(entry: Pick<OddsApiPlatform, 'baseUrl' | 'sport' | 'regions' | 'markets' | 'bookmakers' | 'apiKey'>): string {
  const url = new URL(entry.baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v4/sports/${entry.sport}/odds`;
  if (entry.regions !== undefined) url.searchParams.set('regions', entry.regions);
  url.searchParams.set('markets', entry.markets);
  if (entry.bookmakers !== undefined) url.searchParams.set('bookmakers', entry.bookmakers);
  url.searchParams.set('oddsFormat', 'decimal');
  url.searchParams.set('dateFormat', 'iso');
  url.searchParams.set('apiKey', entry.apiKey);
  return url.toString();
}

/** The x-requests-* headers (credits remaining until the quota resets, used since, cost of this request); undefined without a remaining count. */
export function quotaOf(headers: Headers): QuotaReport | undefined {
  const remaining = credits(headers.get('x-requests-remaining'));
  if (remaining === undefined) return undefined;
  const last = credits(headers.get('x-requests-last'));
  return { remaining, used: credits(headers.get('x-requests-used')) ?? null, ...(last === undefined ? {} : { last }) };
}

const credits = (value: string | null): number | undefined => (value !== null && /^\d{1,15}(?:\.\d{1,6})?$/.test(value.trim()) ? Number(value) : undefined);

/** The API's error codes (api-error-codes in its v4 guide) for a key that will not do, and for the quota used up. */
const QUOTA_USED_UP = 'OUT_OF_USAGE_CREDITS';
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,59}$/;

/** The error body's `error_code` when it is one (the body is the platform's: anything else is ignored). */
export function errorCodeOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const code = (JSON.parse(body) as { error_code?: unknown } | null)?.error_code;
    return typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A failed status as its reason: 401 with the quota error (or no credit left) is `quota_exhausted`, any
 * other 401 a refused key (`http_4xx`); everything else keeps platformHttp's default (429 `rate_limited`).
 */
export function classifyOddsApiStatus(status: number, headers: Headers, body: string | undefined): PlatformError | undefined {
  if (status !== 401) return undefined;
  const code = errorCodeOf(body);
  const quota = quotaOf(headers);
  if (code === QUOTA_USED_UP || (code === undefined && quota?.remaining === 0)) {
    const left = quota ? ` (${quota.remaining} credits remaining${quota.used === null ? '' : `, ${quota.used} used`})` : '';
    return new PlatformError('quota_exhausted', `platform answered HTTP 401 on page 1: the API's usage quota is used up${left}`);
  }
  return new PlatformError('http_4xx', `platform answered HTTP 401 on page 1: the API key was refused${code ? ` (${code})` : ''}`);
}

export function createOddsApiAdapter(entry: OddsApiPlatform): PlatformAdapter {
  const http = createPlatformHttp(entry, [entry.apiKey, encodeURIComponent(entry.apiKey)]);
  const url = oddsApiUrl(entry);
  return {
    name: entry.name,
    kind: 'odds-api',
    baseUrl: redactUrl(entry.baseUrl).replace(/\/+$/, ''),
    timeoutMs: entry.timeoutMs,
    async scrape(signal, onProgress, observer) {
      const response = await http.request(
        {
          url,
          accept: 'application/json',
          page: 1,
          classifyStatus(status, headers, body) {
            const quota = quotaOf(headers);
            if (quota) observer.quota(quota);
            return classifyOddsApiStatus(status, headers, body);
          },
        },
        signal,
        observer,
      );
      const quota = quotaOf(response.headers);
      if (quota) observer.quota(quota);
      const page = readOddsResponse(parseJsonBody(response.text, 1), observer);
      if (page.refused.bookmakers > 0) {
        // Never the key itself: it is the platform's text, and it is what was wrong.
        trace.getActiveSpan()?.addEvent('odds_api.bookmakers_refused', { bookmakers: page.refused.bookmakers, prices: page.refused.prices });
      }
      await onProgress({ eventsFound: page.eventsFound, batch: page.batch });
      return page.eventsFound;
    },
  };
}
