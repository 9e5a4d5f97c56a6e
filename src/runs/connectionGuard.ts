import type { ProgressBus } from './progressBus.js';

/**
 * Knows, for each observed run, since when nobody has watched it. The runner asks between platforms;
 * a run unwatched for the grace period is lost. Tracking starts unwatched, so a run nobody attaches to
 * within the grace period after it starts is lost too.
 */
export class ConnectionGuard {
  private readonly unwatchedSince = new Map<number, number | null>();

  constructor(
    private readonly bus: ProgressBus,
    readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {
    bus.onSubscribersChanged(() => this.refresh());
  }

  track(runId: number, since = this.now()): void {
    this.unwatchedSince.set(runId, this.bus.watcherCount(runId) > 0 ? null : since);
  }

  untrack(runId: number): void {
    this.unwatchedSince.delete(runId);
  }

  /** How long the run has had no watcher (0 while watched). */
  unwatchedMs(runId: number): number {
    const since = this.unwatchedSince.get(runId);
    return since === null || since === undefined ? 0 : this.now() - since;
  }

  isLost(runId: number): boolean {
    return this.unwatchedSince.get(runId) !== null && this.unwatchedSince.has(runId) && this.unwatchedMs(runId) >= this.graceMs;
  }

  private refresh(): void {
    for (const [runId, since] of this.unwatchedSince) {
      const watched = this.bus.watcherCount(runId) > 0;
      if (watched && since !== null) this.unwatchedSince.set(runId, null);
      if (!watched && since === null) this.unwatchedSince.set(runId, this.now());
    }
  }
}
