import type { Logger } from 'pino';
import type { ProgressBus } from './progressBus.js';

/** Watchers of a run on the other live replicas (presence: leased counts). */
export interface RemoteWatchers {
  remoteWatchersOf(runId: number): Promise<number>;
}

/**
 * Knows, for each observed run, since when nobody has watched it, on any replica: this replica's exact
 * count (the local bus) plus the other live replicas' leased counts (presence), refreshed every
 * `remoteRefreshMs` while a run is tracked. The runner asks between platforms; a run unwatched for the
 * grace period is lost. Tracking starts unwatched, so a run nobody attaches to within the grace period
 * after it starts is lost too. A failed remote read keeps the last known remote count (no false loss).
 */
export class ConnectionGuard {
  private readonly unwatchedSince = new Map<number, number | null>();
  private readonly remote = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: ProgressBus,
    readonly graceMs: number,
    private readonly now: () => number = Date.now,
    private readonly remoteSource?: { watchers: RemoteWatchers; refreshMs: number; logger?: Logger },
  ) {
    bus.onSubscribersChanged(() => this.refresh());
  }

  track(runId: number, since = this.now()): void {
    this.unwatchedSince.set(runId, this.watchers(runId) > 0 ? null : since);
    if (this.remoteSource && !this.timer) {
      this.timer = setInterval(() => void this.refreshRemote(), this.remoteSource.refreshMs);
      this.timer.unref();
      void this.refreshRemote();
    }
  }

  untrack(runId: number): void {
    this.unwatchedSince.delete(runId);
    this.remote.delete(runId);
    if (this.unwatchedSince.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** How long the run has had no watcher (0 while watched). */
  unwatchedMs(runId: number): number {
    const since = this.unwatchedSince.get(runId);
    return since === null || since === undefined ? 0 : this.now() - since;
  }

  isLost(runId: number): boolean {
    return this.unwatchedSince.get(runId) !== null && this.unwatchedSince.has(runId) && this.unwatchedMs(runId) >= this.graceMs;
  }

  /** Reads the other replicas' watchers of every tracked run now (also runs on its timer). */
  async refreshRemote(): Promise<void> {
    if (!this.remoteSource) return;
    for (const runId of [...this.unwatchedSince.keys()]) {
      try {
        const count = await this.remoteSource.watchers.remoteWatchersOf(runId);
        if (this.unwatchedSince.has(runId)) this.remote.set(runId, count);
      } catch (error) {
        this.remoteSource.logger?.warn({ err: error, run_id: runId }, 'cannot read watchers on other replicas: keeping the last known count');
      }
    }
    this.refresh();
  }

  private watchers(runId: number): number {
    return this.bus.watcherCount(runId) + (this.remote.get(runId) ?? 0);
  }

  private refresh(): void {
    for (const [runId, since] of this.unwatchedSince) {
      const watched = this.watchers(runId) > 0;
      if (watched && since !== null) this.unwatchedSince.set(runId, null);
      if (!watched && since === null) this.unwatchedSince.set(runId, this.now());
    }
  }
}
