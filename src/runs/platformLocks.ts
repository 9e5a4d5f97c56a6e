import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { SqlExecutor } from '../db/sqlExecutor.js';
import { releasePlatformLock, selectPlatformLockHolder, takeFreePlatformLock, takePlatformLockFrom, type TakenLock } from '../db/tables/platformLocks.js';
import { retryWrite } from './databaseRetry.js';

export interface PlatformLocksDeps {
  execute: SqlExecutor;
  /** This replica's id: the holder of the locks it takes. */
  ownerId: string;
  /** Tells a live holder from a dead one (replicas/ownerLiveness.ts); rejects while it cannot tell. */
  liveness: { isAlive(ownerId: string): Promise<boolean> };
  /** The platform's `minRequestIntervalMs` (0: none): kept between the end of one scrape and the next, whichever replicas ran them. */
  spacingOf(platform: string): number;
  logger: Logger;
  /** A step waited for another replica's scrape of its platform; `taken_over`: that replica had died. */
  onWaited?(outcome: 'freed' | 'taken_over'): void;
  /** How often a waiting step looks again (default 200 ms). */
  pollMs?: number;
}

/** Frees the lock taken; never rejects (a release the database refused is retried in the background). */
export type ReleaseLock = () => Promise<void>;

/**
 * One scrape per platform at a time across every replica, and its request spacing kept from one replica to
 * the next. The scrape pool keeps a platform to one scrape at a time within a replica; this keeps it so
 * across replicas through a row per platform in PostgreSQL: a replica takes the row when no replica holds
 * it, waits (polling) while a live one does, and takes it over at once from a replica that died (its
 * liveness lock is gone). The next scrape starts no sooner than the platform's spacing after the last one
 * ended. A release the database refused (an outage) is retried in the background; meanwhile this replica,
 * alive, still holds the platform.
 */
export class PlatformLocks {
  /** Platform -> the taking whose release the database refused. */
  private readonly unreleased = new Map<string, string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;

  constructor(private readonly deps: PlatformLocksDeps) {
    this.pollMs = deps.pollMs ?? 200;
  }

  /**
   * Resolves once this replica holds `platform` and its spacing has passed. An aborted `signal` resolves
   * at once without the lock (the caller's scrape, aborted, does not start).
   */
  async take(platform: string, signal?: AbortSignal): Promise<ReleaseLock> {
    const { execute, ownerId } = this.deps;
    const spacingMs = this.deps.spacingOf(platform);
    const since = performance.now();
    let waitingFor: string | null = null;
    let tookOver = false;
    for (;;) {
      if (signal?.aborted) return async () => undefined;
      let taken = await retryWrite(() => takeFreePlatformLock(execute, platform, ownerId, spacingMs));
      if (!taken) {
        const holder = await retryWrite(() => selectPlatformLockHolder(execute, platform));
        if (holder === null) continue; // freed between the two statements
        if (holder === ownerId || !(await this.isAlive(holder))) {
          taken = await retryWrite(() => takePlatformLockFrom(execute, platform, holder, ownerId, spacingMs));
          if (taken && holder === ownerId) this.unreleased.delete(platform);
          if (taken && holder !== ownerId) {
            tookOver = true;
            this.deps.logger.warn({ platform, holder }, 'platform lock taken over from a replica that died while scraping it');
          }
        }
        if (!taken) {
          if (waitingFor !== holder) this.deps.logger.info({ platform, holder }, 'platform is being scraped by another replica: this step waits for its turn');
          waitingFor = holder;
          await pause(this.pollMs, signal);
          continue;
        }
      }
      if (waitingFor !== null || tookOver) {
        const outcome = tookOver ? 'taken_over' : 'freed';
        this.deps.logger.info({ platform, outcome, waited_ms: Math.round(performance.now() - since) }, "platform's turn came: its step goes on");
        this.deps.onWaited?.(outcome);
      }
      await this.keepSpacing(platform, taken, signal);
      return () => this.release(platform, taken.takenAt);
    }
  }

  /** Frees the locks whose release failed (shutdown); best effort. */
  async close(): Promise<void> {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.allSettled([...this.unreleased].map(([platform, takenAt]) => releasePlatformLock(this.deps.execute, platform, this.deps.ownerId, takenAt)));
    this.unreleased.clear();
  }

  private async isAlive(holder: string): Promise<boolean> {
    try {
      return await this.deps.liveness.isAlive(holder);
    } catch {
      return true; // cannot tell now: wait rather than scrape beside a replica that may be alive
    }
  }

  private async keepSpacing(platform: string, taken: TakenLock, signal?: AbortSignal): Promise<void> {
    if (taken.waitMs <= 0) return;
    this.deps.logger.debug({ platform, wait_ms: taken.waitMs }, "waiting out the platform's request spacing after its last scrape");
    await pause(taken.waitMs, signal);
  }

  private async release(platform: string, takenAt: string): Promise<void> {
    try {
      await retryWrite(() => releasePlatformLock(this.deps.execute, platform, this.deps.ownerId, takenAt));
    } catch (error) {
      this.deps.logger.warn({ err: error, platform }, 'platform lock not released (database unreachable): retrying in the background');
      this.unreleased.set(platform, takenAt);
      this.retryTimer ??= setInterval(() => void this.retryReleases(), 1_000);
      this.retryTimer.unref();
    }
  }

  private async retryReleases(): Promise<void> {
    for (const [platform, takenAt] of [...this.unreleased]) {
      try {
        await releasePlatformLock(this.deps.execute, platform, this.deps.ownerId, takenAt);
        if (this.unreleased.get(platform) === takenAt) this.unreleased.delete(platform);
        this.deps.logger.info({ platform }, 'platform lock released after the database came back');
      } catch {
        return; // still unreachable: the next tick tries again
      }
    }
    if (this.unreleased.size === 0) {
      clearInterval(this.retryTimer);
      this.retryTimer = undefined;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
