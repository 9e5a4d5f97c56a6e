/**
 * Per-feed politeness: at least `minIntervalMs` between the starts of two requests to one feed, across
 * pages and scrapes (PLATFORMS_FILE `minRequestIntervalMs`). `wait` resolves when the next request may go.
 */
export function requestPacer(minIntervalMs: number): (signal: AbortSignal) => Promise<void> {
  let nextAt = 0;
  return async (signal) => {
    const now = Date.now();
    const at = Math.max(now, nextAt);
    nextAt = at + minIntervalMs;
    if (at > now) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, at - now);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  };
}
