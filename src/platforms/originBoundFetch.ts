import type { RedirectOutcome } from '../shared/contract.js';
import { PlatformError } from './adapter.js';

/** Hops followed for one request before it fails (browsers allow 20; no feed needs more than a couple). */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface OriginBoundRequest {
  /** Without userinfo: a Basic credential belongs in `credentials`. */
  url: URL;
  /** Sent on every hop (accept). */
  headers: Record<string, string>;
  /** Every configured header and the userinfo's Authorization: sent only to `url`'s origin and `trustedOrigins`. */
  credentials: Record<string, string>;
  /** Origins (`https://cdn.example:8443`) that may receive the credentials besides the configured one. */
  trustedOrigins: ReadonlySet<string>;
  signal: AbortSignal;
  onRedirect?(outcome: RedirectOutcome): void;
}

/**
 * fetch with redirects followed here instead of by fetch, which keeps every custom header (an API key)
 * on a redirect to another host and strips only `Authorization`. Credentials stay with their origin: once
 * a hop leaves the trusted origins the rest of the chain goes without them (the foreign server chose it).
 * A downgrade to plain http is refused outright: what came back over it could have been rewritten on the way.
 */
export async function fetchWithinOrigin(request: OriginBoundRequest): Promise<Response> {
  const trusted = new Set([request.url.origin, ...request.trustedOrigins]);
  let url = request.url;
  let withCredentials = true;
  for (let hops = 0; ; hops += 1) {
    const headers = withCredentials ? { ...request.headers, ...request.credentials } : request.headers;
    const response = await fetch(url, { headers, signal: request.signal, redirect: 'manual' });
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    const refuse = (why: string): never => {
      request.onRedirect?.('refused');
      throw new PlatformError('network', `redirect refused: ${why}`);
    };
    if (hops >= MAX_REDIRECTS) refuse(`more than ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return refuse('the Location is not a URL');
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') refuse(`to a ${next.protocol.slice(0, 20)} URL`);
    if (url.protocol === 'https:' && next.protocol === 'http:') refuse('from https to plain http');
    next.username = '';
    next.password = '';
    withCredentials &&= trusted.has(next.origin);
    request.onRedirect?.(withCredentials ? 'followed' : 'stripped');
    url = next;
  }
}
