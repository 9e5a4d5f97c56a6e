import type { Logger } from 'pino';
import type { ProgressBus } from '../events/index.js';

/** Watchers of a run on the other live replicas (presence: leased counts). */
export interface RemoteWatchers {
  remoteWatchersOf(runId: number): Promise<number>;
}

export interface TrackOptions {
  /** When the run began to need a watcher (default: now). */
  since?: number;
  /**
   * Called once, at the moment the run has had no watcher on any replica for the grace period (the other
   * replicas' counts read afresh first). Not called for a run untracked before then.
   */
  onLost?: (unwatchedMs: number) => void;
  /** Called when the run's last watcher leaves (`watched` false) and when one comes back (with how long nobody watched). */
  onChange?: (watched: boolean, unwatchedMs: number) => void;
}

interface Tracked {
  /** Since when nobody has watched the run; null while someone does. */
  unwatchedSince: number | null;
  onLost: ((unwatchedMs: number) => void) | undefined;
  onChange: ((watched: boolean, unwatchedMs: number) => void) | undefined;
  /** Fires when the grace runs out, while the run is unwatched. */
  timer: NodeJS.Timeout | undefined;
  /** The grace ran out and the other replicas are being read once more before deciding. */
  expiring: boolean;
  lost: boolean;
}

/**
 * Knows, for each observed run, since when nobody has watched it, on any replica: this replica's exact
 * count (the local bus) plus the other live replicas' leased counts (presence), refreshed every
 * `remoteRefreshMs` while a run is tracked. It watches each run for as long as it is tracked: a timer
 * armed whenever the run becomes unwatched (a local subscriber leaving, a remote read finding none)
 * and disarmed when a watcher comes back; when it fires, the other replicas are read once more and, if
 * still nobody watches, `onLost` is called. Tracking starts unwatched, so a run nobody attaches to
 * within the grace period after it starts is lost too. A failed remote read keeps the last known remote
 * count (no false loss).
 */
export class ConnectionGuard {
  private readonly runs = new Map<number, Tracked>();
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

  /** Whether a tracked run has a watcher now, as this guard last saw it (false for a run it does not track). */
  isWatched(runId: number): boolean {
    const tracked = this.runs.get(runId);
    return tracked !== undefined && tracked.unwatchedSince === null;
  }

  track(runId: number, options: TrackOptions = {}): void {
    this.untrack(runId);
    const since = options.since ?? this.now();
    this.runs.set(runId, { unwatchedSince: this.watchers(runId) > 0 ? null : since, onLost: options.onLost, onChange: options.onChange, timer: undefined, expiring: false, lost: false });
    this.arm(runId);
    if (this.remoteSource && !this.timer) {
      this.timer = setInterval(() => void this.refreshRemote(), this.remoteSource.refreshMs);
      this.timer.unref();
      void this.refreshRemote();
    }
  }

  untrack(runId: number): void {
    const tracked = this.runs.get(runId);
    if (tracked) clearTimeout(tracked.timer);
    this.runs.delete(runId);
    this.remote.delete(runId);
    if (this.runs.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** How long the run has had no watcher (0 while watched). */
  unwatchedMs(runId: number): number {
    const since = this.runs.get(runId)?.unwatchedSince;
    return since === null || since === undefined ? 0 : this.now() - since;
  }

  isLost(runId: number): boolean {
    const tracked = this.runs.get(runId);
    return tracked !== undefined && tracked.unwatchedSince !== null && this.unwatchedMs(runId) >= this.graceMs;
  }

  /** Reads the other replicas' watchers of every tracked run now (also runs on its timer). */
  async refreshRemote(): Promise<void> {
    if (!this.remoteSource) return;
    for (const runId of [...this.runs.keys()]) await this.readRemote(runId);
    this.refresh();
  }

  private async readRemote(runId: number): Promise<void> {
    if (!this.remoteSource) return;
    try {
      const count = await this.remoteSource.watchers.remoteWatchersOf(runId);
      if (this.runs.has(runId)) this.remote.set(runId, count);
    } catch (error) {
      this.remoteSource.logger?.warn({ err: error, run_id: runId }, 'cannot read watchers on other replicas: keeping the last known count');
    }
  }

  private watchers(runId: number): number {
    return this.bus.watcherCount(runId) + (this.remote.get(runId) ?? 0);
  }

  private refresh(): void {
    for (const runId of this.runs.keys()) this.update(runId);
  }

  /** Brings the run's unwatched-since up to date with its watchers now, and re-arms its timer when that changed. */
  private update(runId: number): void {
    const tracked = this.runs.get(runId);
    if (!tracked) return;
    const watched = this.watchers(runId) > 0;
    if (watched && tracked.unwatchedSince !== null) {
      const unwatchedMs = this.now() - tracked.unwatchedSince;
      tracked.unwatchedSince = null;
      this.arm(runId);
      tracked.onChange?.(true, unwatchedMs);
    } else if (!watched && tracked.unwatchedSince === null) {
      tracked.unwatchedSince = this.now();
      this.arm(runId);
      tracked.onChange?.(false, 0);
    }
  }

  /** Arms the run's timer for the moment its grace runs out, or disarms it while someone watches. */
  private arm(runId: number): void {
    const tracked = this.runs.get(runId);
    if (!tracked) return;
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
    if (!tracked.onLost || tracked.lost || tracked.expiring || tracked.unwatchedSince === null) return;
    const delayMs = Math.max(0, tracked.unwatchedSince + this.graceMs - this.now());
    tracked.timer = setTimeout(() => void this.expire(runId, tracked), delayMs);
    tracked.timer.unref();
  }

  private async expire(runId: number, tracked: Tracked): Promise<void> {
    tracked.timer = undefined;
    tracked.expiring = true;
    try {
      // The remote counts may be a refresh old: a watcher that came back on another replica just now saves the run.
      await this.readRemote(runId);
    } finally {
      tracked.expiring = false;
    }
    if (this.runs.get(runId) !== tracked) return; // untracked meanwhile (the run ended)
    this.update(runId);
    if (!this.isLost(runId)) return this.arm(runId);
    tracked.lost = true;
    tracked.onLost?.(this.unwatchedMs(runId));
  }
}
