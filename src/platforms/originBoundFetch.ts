import { fetch } from 'undici';
import type { RedirectOutcome } from '../shared/contract.js';
import { PlatformError } from './adapter.js';
import { ForbiddenAddressError, platformDispatcher } from './forbiddenAddresses.js';

/** Hops followed for one request before it fails (browsers allow 20; no feed needs more than a couple). */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface OriginBoundRequest {
  /** Without userinfo: a Basic credential belongs in `credentials`. */
  url: URL;
  method?: 'GET' | 'POST';
  /** Sent with the first request, and again only on a 307/308 (a 301/302/303 continues as GET, as browsers do). */
  body?: string;
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
 * Every hop goes through platformDispatcher, which refuses forbidden addresses (forbiddenAddresses.ts) when it connects.
 */
export async function fetchWithinOrigin(request: OriginBoundRequest): Promise<Response> {
  const trusted = new Set([request.url.origin, ...request.trustedOrigins]);
  let url = request.url;
  let withCredentials = true;
  let method = request.method ?? 'GET';
  let body = request.body;
  for (let hops = 0; ; hops += 1) {
    const base = body === undefined ? stripContentType(request.headers) : request.headers;
    const headers = withCredentials ? { ...base, ...request.credentials } : base;
    const response = await fetchRefusingForbidden(url, { method, headers, signal: request.signal, redirect: 'manual', dispatcher: platformDispatcher, ...(body === undefined ? {} : { body }) }, hops);
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
    if (response.status !== 307 && response.status !== 308) {
      method = 'GET';
      body = undefined;
    }
    request.onRedirect?.(withCredentials ? 'followed' : 'stripped');
    url = next;
  }
}

/**
 * undici's fetch, as the global fetch's Response (the same class at run time for what is read of it: status,
 * headers, a web stream body). A connection refused for its address is this platform's `forbidden_address`.
 */
async function fetchRefusingForbidden(url: URL, init: Parameters<typeof fetch>[1], hops: number): Promise<Response> {
  try {
    return (await fetch(url, init)) as unknown as Response;
  } catch (error) {
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
      if (current instanceof ForbiddenAddressError) {
        const where = hops === 0 ? current.address : `${current.address}, reached by a redirect`;
        throw new PlatformError('forbidden_address', `the platform's host resolves to a forbidden address (${where})`);
      }
    }
    throw error;
  }
}

function stripContentType(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
}
