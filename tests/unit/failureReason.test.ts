import { describe, expect, it } from 'vitest';
import { isChallengePage, reasonForFetchError, reasonForStatus } from '../../src/platforms/failureReason.js';

describe('a feed failure classified where it happens (platforms/failureReason.ts)', () => {
  it('an HTTP error status: 429 rate limited, 403 blocked, else by class', () => {
    expect([400, 401, 403, 404, 429, 499, 500, 502, 503].map(reasonForStatus)).toEqual([
      'http_4xx',
      'http_4xx',
      'blocked',
      'http_4xx',
      'rate_limited',
      'http_4xx',
      'http_5xx',
      'http_5xx',
      'http_5xx',
    ]);
  });

  it("a fetch error: the HTTP client's own timeouts are timeouts, read from the codes of the cause chain; the rest is network", () => {
    const wrapped = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) });
    expect(reasonForFetchError(wrapped('UND_ERR_HEADERS_TIMEOUT'))).toBe('timeout');
    expect(reasonForFetchError(wrapped('UND_ERR_CONNECT_TIMEOUT'))).toBe('timeout');
    expect(reasonForFetchError(wrapped('ECONNREFUSED'))).toBe('network');
    expect(reasonForFetchError(wrapped('ECONNRESET'))).toBe('network');
    // The message is never read: "timeout" in a message does not make a timeout.
    expect(reasonForFetchError(new Error('socket timeout'))).toBe('network');
    expect(reasonForFetchError('not an error')).toBe('network');
  });

  it('a challenge page is HTML with a challenge marker; other HTML or text is not', () => {
    expect(isChallengePage('\n <!DOCTYPE html><title>Just a moment...</title>')).toBe(true);
    expect(isChallengePage('<html><div class="g-recaptcha">CAPTCHA</div></html>')).toBe(true);
    expect(isChallengePage('<html><body>Maintenance</body></html>')).toBe(false);
    expect(isChallengePage('{"page": 1, "captcha": true')).toBe(false);
  });
});
