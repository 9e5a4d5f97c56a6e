import type pg from 'pg';
import type { Logger } from 'pino';
import { ReconnectingSession } from '../db/reconnectingSession.js';
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
 * reconnects with backoff (reconnectingSession.ts) and takes the lock again (`onRegained`). While it is not held, another
 * process may rightly consider this owner dead and fail its runs: the caller must stop owning runs.
 * (Session-level locks: behind PgBouncer, use session pooling for this connection.)
 */
export class OwnerLiveness {
  /** Up means the lock is held: the session takes it before it counts as up. */
  private readonly session: ReconnectingSession;
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly checkIntervalMs: number;
  private readonly checkTimeoutMs: number;

  private constructor(
    databaseUrl: string,
    private readonly ownerId: string,
    private readonly options: OwnerLivenessOptions,
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 2_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
    this.session = new ReconnectingSession({
      databaseUrl,
      applicationName: `oddswatch-owner-${ownerId}`,
      label: 'owner liveness',
      prepare: (client, reconnecting) => this.takeLock(client, reconnecting),
      onLost: (error) => {
        this.options.logger?.warn({ err: error, owner_id: this.ownerId }, 'owner liveness lock lost: this process must not own runs until it is held again');
        this.options.onLost?.(error);
      },
      reconnect: {
        initialMs: options.backoffInitialMs,
        maxMs: options.backoffMaxMs,
        onRetryFailed: (error, attempt) =>
          this.options.logger?.warn({ err: error, owner_id: this.ownerId, attempt }, 'owner liveness lock not held yet: retrying'),
        onReconnected: () => {
          this.options.logger?.warn({ owner_id: this.ownerId }, 'owner liveness lock held again');
          this.options.onRegained?.();
        },
      },
    });
  }

  /** Resolves once the lock is held (waits while another session still holds it). */
  static async hold(databaseUrl: string, ownerId: string, options: OwnerLivenessOptions = {}): Promise<OwnerLiveness> {
    const liveness = new OwnerLiveness(databaseUrl, ownerId, options);
    await liveness.session.connect();
    liveness.checkTimer = setInterval(() => void liveness.check(), liveness.checkIntervalMs);
    liveness.checkTimer.unref();
    return liveness;
  }

  isHeld(): boolean {
    return this.session.connected;
  }

  /** True while the process that owns `ownerId` holds its lock. Rejects while this session is down (no guess). */
  async isAlive(ownerId: string): Promise<boolean> {
    if (ownerId === this.ownerId) return this.isHeld(); // our own session would re-enter its own lock
    const client = this.session.client;
    if (!client) throw new Error('owner liveness session unavailable: cannot tell whether the owner is alive');
    const key = LOCK_NAMES.owner(ownerId);
    const rows = await this.session.query<{ got: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [key], {
      timeoutMs: this.checkTimeoutMs,
      what: 'owner liveness session',
      keepOnFailure: true,
    });
    if (!rows[0]?.got) return true;
    await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    return false;
  }

  async release(): Promise<void> {
    clearInterval(this.checkTimer);
    await this.session.close();
  }

  /** The first time it waits for the lock, afterwards it tries (and the session retries). */
  private async takeLock(client: pg.Client, reconnecting: boolean): Promise<void> {
    const key = LOCK_NAMES.owner(this.ownerId);
    if (!reconnecting) {
      await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
    } else {
      // The old session may linger on the server for a while after a network cut: try, do not queue.
      const { rows } = await client.query<{ got: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [key]);
      if (!rows[0]?.got) throw new Error(`the liveness lock of ${this.ownerId} is still held by another session`);
    }
  }

  private async check(): Promise<void> {
    if (!this.session.connected) return;
    try {
      await this.session.query('select 1', [], { timeoutMs: this.checkTimeoutMs, what: 'owner liveness session' });
    } catch {
      // the session is lost and reconnecting
    }
  }
}
