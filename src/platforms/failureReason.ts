import type { StepFailureReason } from '../shared/contract.js';

/** An HTTP error status as a step failure reason: 429 rate limited, 403 blocked, else by class. */
export function reasonForStatus(status: number): StepFailureReason {
  if (status === 429) return 'rate_limited';
  if (status === 403) return 'blocked';
  return status >= 500 ? 'http_5xx' : 'http_4xx';
}

/** The HTTP client's (undici's) own timeouts: a timeout, not a network failure. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * An error fetch threw (undici wraps the socket's error in `cause`: ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET,
 * a DNS or TLS error): `timeout` for the client's own timeouts, else `network`. Read from the error codes,
 * never from the message.
 */
export function reasonForFetchError(error: unknown): StepFailureReason {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
  }
  return 'network';
}

/** Markers of the anti-bot challenge pages of the common CDNs (Cloudflare, Akamai, Imperva...), lower case. */
const CHALLENGE_MARKERS = ['captcha', 'cf-chl', 'challenge-platform', 'just a moment', 'attention required'];

/**
 * The feed kind's rule for a challenge page: a body that is HTML (its first non-blank character is `<`)
 * where JSON was expected, and holds one of CHALLENGE_MARKERS. Only the first 64 KiB are looked at.
 */
export function isChallengePage(text: string): boolean {
  if (!/^\s*</.test(text)) return false;
  const head = text.slice(0, 65_536).toLowerCase();
  return CHALLENGE_MARKERS.some((marker) => head.includes(marker));
}
