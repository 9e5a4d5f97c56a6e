import type pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay, closeClient, connectDedicated, destroyClient, withTimeout } from '../db/dedicatedClient.js';
import { LOCK_NAMES } from '../db/sqlExecutor.js';

export interface OwnerLivenessOptions {
  logger?: Logger;
  /** The lock is no longer held (session lost): stop owning runs until `onRegained`. */
  onLost?: (error: Error) => void;
  onRegained?: () => void;
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

/**
 * Process liveness through a PostgreSQL session advisory lock: the process holds the lock of its owner
 * id on a dedicated session, and the lock disappears with the process (even on SIGKILL), so recovery
 * can tell a dead owner's runs from a live replica's. Unlike a lock taken once, this one is watched:
 * TCP keepalive plus a periodic check that the session answers; on loss (PostgreSQL restarted,
 * connection cut, backend terminated) `isHeld()` turns false and `onLost` fires at once, then it
 * reconnects with backoff and takes the lock again (`onRegained`). While it is not held, another
 * process may rightly consider this owner dead and fail its runs: the caller must stop owning runs.
 * (Session-level locks: behind PgBouncer, use session pooling for this connection.)
 */
export class OwnerLiveness {
  private client: pg.Client | undefined;
  private generation = 0;
  private held = false;
  private released = false;
  private attempt = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly checkIntervalMs: number;
  private readonly checkTimeoutMs: number;

  private constructor(
    private readonly databaseUrl: string,
    private readonly ownerId: string,
    private readonly options: OwnerLivenessOptions,
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 2_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  }

  /** Resolves once the lock is held (waits while another session still holds it). */
  static async hold(databaseUrl: string, ownerId: string, options: OwnerLivenessOptions = {}): Promise<OwnerLiveness> {
    const liveness = new OwnerLiveness(databaseUrl, ownerId, options);
    await liveness.acquire(true);
    liveness.checkTimer = setInterval(() => void liveness.check(), liveness.checkIntervalMs);
    liveness.checkTimer.unref();
    return liveness;
  }

  isHeld(): boolean {
    return this.held;
  }

  /** True while the process that owns `ownerId` holds its lock. Rejects while this session is down (no guess). */
  async isAlive(ownerId: string): Promise<boolean> {
    if (ownerId === this.ownerId) return this.held; // our own session would re-enter its own lock
    const client = this.client;
    if (!client || !this.held) throw new Error('owner liveness session unavailable: cannot tell whether the owner is alive');
    const key = LOCK_NAMES.owner(ownerId);
    const { rows } = await withTimeout(
      client.query<{ got: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [key]),
      this.checkTimeoutMs,
      'owner liveness session',
    );
    if (!rows[0]?.got) return true;
    await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    return false;
  }

  async release(): Promise<void> {
    this.released = true;
    this.held = false;
    clearInterval(this.checkTimer);
    clearTimeout(this.retryTimer);
    this.generation++;
    const client = this.client;
    this.client = undefined;
    if (client) await closeClient(client);
  }

  /** Connects and takes the lock; the first time it waits for the lock, afterwards it tries and retries. */
  private async acquire(first: boolean): Promise<void> {
    const generation = ++this.generation;
    const client = await connectDedicated(
      { databaseUrl: this.databaseUrl, applicationName: `oddswatch-owner-${this.ownerId}` },
      (error) => this.lost(generation, error),
    );
    try {
      const key = LOCK_NAMES.owner(this.ownerId);
      if (first) {
        await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
      } else {
        // The old session may linger on the server for a while after a network cut: try, do not queue.
        const { rows } = await client.query<{ got: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [key]);
        if (!rows[0]?.got) throw new Error(`the liveness lock of ${this.ownerId} is still held by another session`);
      }
    } catch (error) {
      if (generation === this.generation) this.generation++; // its 'end' must not count as a loss
      destroyClient(client);
      throw error;
    }
    if (generation !== this.generation || this.released) {
      destroyClient(client);
      throw new Error('owner liveness superseded');
    }
    this.client = client;
    this.held = true;
  }

  private async check(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const generation = this.generation;
    try {
      await withTimeout(client.query('select 1'), this.checkTimeoutMs, 'owner liveness session');
    } catch (error) {
      this.lost(generation, error as Error);
    }
  }

  private lost(generation: number, error: Error): void {
    if (generation !== this.generation || this.released) return;
    this.generation++;
    const client = this.client;
    this.client = undefined;
    if (client) destroyClient(client);
    const wasHeld = this.held;
    this.held = false;
    if (wasHeld) {
      this.options.logger?.warn({ err: error, owner_id: this.ownerId }, 'owner liveness lock lost: this process must not own runs until it is held again');
      this.options.onLost?.(error);
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.attempt++, this.options.backoffInitialMs ?? 100, this.options.backoffMaxMs ?? 5_000);
    this.retryTimer = setTimeout(() => void this.retry(), delay);
  }

  private async retry(): Promise<void> {
    if (this.released) return;
    try {
      await this.acquire(false);
    } catch (error) {
      if (this.released) return;
      this.options.logger?.warn({ err: error, owner_id: this.ownerId, attempt: this.attempt }, 'owner liveness lock not held yet: retrying');
      this.scheduleRetry();
      return;
    }
    this.attempt = 0;
    this.options.logger?.warn({ owner_id: this.ownerId }, 'owner liveness lock held again');
    this.options.onRegained?.();
  }
}
