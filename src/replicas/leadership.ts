import type { Logger } from 'pino';
import { ReconnectingSession } from '../db/reconnectingSession.js';
import { LOCK_NAMES } from '../db/sqlExecutor.js';

export interface LeadershipOptions {
  databaseUrl: string;
  /** application_name of the leadership session, e.g. `oddswatch-leader-<replica id>`. */
  applicationName: string;
  logger: Logger;
  /** How often a follower tries to take the lock (default 2 s): the takeover time after a leader's session ends. */
  retryIntervalMs?: number;
  /** How often the leader checks that its session still answers (default 1 s). */
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
  lockName?: string;
  onLeader?: () => void;
  onFollower?: () => void;
}

/**
 * One leader among the replicas: the holder of a session advisory lock on a dedicated connection.
 * Followers try `pg_try_advisory_lock` every retry interval and take over once the leader's session is
 * gone (process stopped or killed, connection cut: PostgreSQL frees session locks with the session).
 * A leader that loses its connection steps down at once (it cannot know whether the server still holds
 * its lock), and a check that does not answer within its timeout counts as a loss; so the old leader
 * stops acting before the server frees the lock and a follower can win it. The session does not reconnect
 * by itself: the next tick connects again.
 */
export class Leadership {
  private readonly session: ReconnectingSession;
  private leader = false;
  private stopped = true;
  /** True during start()'s first attempt: winning the lock then is how a lone replica starts, not a change. */
  private starting = false;
  private timer: NodeJS.Timeout | undefined;
  private changeCount = 0;
  private readonly retryIntervalMs: number;
  private readonly checkIntervalMs: number;
  private readonly checkTimeoutMs: number;
  private readonly lockName: string;

  constructor(private readonly options: LeadershipOptions) {
    this.retryIntervalMs = options.retryIntervalMs ?? 2_000;
    this.checkIntervalMs = options.checkIntervalMs ?? 1_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 1_000;
    this.lockName = options.lockName ?? LOCK_NAMES.leader;
    this.session = new ReconnectingSession({
      databaseUrl: options.databaseUrl,
      applicationName: options.applicationName,
      label: 'leadership session',
      connectTimeoutMs: this.retryIntervalMs,
      onLost: (error) => this.lost(error),
    });
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** How many times this replica became the leader (the lead sums it as the leadership-changes counter). */
  get changes(): number {
    return this.changeCount;
  }

  /** Makes the first attempt before resolving, so a lone replica is the leader when start() returns. */
  async start(): Promise<void> {
    this.stopped = false;
    this.starting = true;
    try {
      await this.tick();
    } finally {
      this.starting = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stepDown('stopping');
    await this.session.close(); // ending the session frees the lock
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), this.leader ? this.checkIntervalMs : this.retryIntervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.session.connected) await this.session.connect();
      const client = this.session.client;
      if (!client || this.stopped) return;
      if (this.leader) {
        await this.query('select 1');
      } else {
        const rows = await this.query('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [this.lockName]);
        if (rows?.[0]?.got === true && !this.stopped && client === this.session.client) this.becomeLeader();
      }
    } catch (error) {
      this.options.logger.debug({ err: error }, 'leadership session unavailable: retrying');
    } finally {
      this.schedule();
    }
  }

  /** A query that does not answer in time is a lost session: the answer (lock taken or not) can no longer be trusted. */
  private async query(sql: string, params: unknown[] = []) {
    try {
      return await this.session.query<{ got?: boolean }>(sql, params, { timeoutMs: this.checkTimeoutMs, what: 'leadership session' });
    } catch {
      return undefined; // the session is lost (see lost)
    }
  }

  private lost(error: Error): void {
    if (this.stopped) return;
    if (this.leader) this.options.logger.warn({ err: error }, 'scheduler leader lost its database session: stepping down');
    this.stepDown('session lost');
    this.schedule();
  }

  /**
   * Info when the lock is won at start (every single-process start, the first replica of a cluster); warn when
   * leadership changes while running (a takeover after the leader died or stepped down, or a lock regained).
   */
  private becomeLeader(): void {
    this.leader = true;
    this.changeCount++;
    const level = this.starting ? 'info' : 'warn';
    this.options.logger[level]({ leadership_changes: this.changeCount, at_start: this.starting }, 'this replica is now the scheduler leader');
    this.options.onLeader?.();
  }

  /** Warn, but info for a clean stop (the next replica's takeover is the warning then). */
  private stepDown(reason: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.options.logger[reason === 'stopping' ? 'info' : 'warn']({ reason }, 'this replica is no longer the scheduler leader');
    this.options.onFollower?.();
  }
}
