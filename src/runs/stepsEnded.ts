/**
 * Wakes a run's runner when one of its steps ends, on whichever replica: the service hands every
 * `platform.completed`/`platform.failed` event it hears on the bus to `ended`. Held by this replica for the
 * runs it owns; a missed wake costs the runner one poll interval, never the run.
 */
export class StepsEnded {
  private readonly waiting = new Map<number, Set<() => void>>();

  /** A step of `runId` ended. */
  ended(runId: number): void {
    for (const wake of this.waiting.get(runId) ?? []) wake();
  }

  /** Settles at the next step end of `runId`, after `timeoutMs`, or when `signal` aborts; `cancel` settles it now. */
  next(runId: number, timeoutMs: number, signal: AbortSignal): { promise: Promise<void>; cancel(): void } {
    let wake = () => undefined as void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    const waiting = this.waiting.get(runId) ?? new Set<() => void>();
    this.waiting.set(runId, waiting);
    waiting.add(wake);
    const timer = setTimeout(wake, timeoutMs);
    signal.addEventListener('abort', wake, { once: true });
    void promise.then(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      waiting.delete(wake);
      if (waiting.size === 0 && this.waiting.get(runId) === waiting) this.waiting.delete(runId);
    });
    return { promise, cancel: wake };
  }
}
