import type pg from 'pg';
import { settlesWithin } from '../shared/timeout.js';
import { closeClient, connectDedicated, destroyClient } from './dedicatedClient.js';

export interface ReconnectingSessionOptions {
  databaseUrl: string;
  /** application_name of the session (how an operator, or a test, finds its backend). */
  applicationName: string;
  /** Names the session in error messages, e.g. 'listener connection'. */
  label: string;
  connectTimeoutMs?: number;
  /**
   * Runs on every new connection before the session counts as up (LISTEN, take a lock); `reconnecting` is
   * false for the owner's own `connect()`. A failure drops that connection and fails the attempt.
   */
  prepare?: (client: pg.Client, reconnecting: boolean) => Promise<void>;
  /** The session that was up is lost (connection error or end, a deadline missed, `lose`): once per session. */
  onLost?: (error: Error) => void;
  /**
   * Reconnect by itself after a loss, with capped exponential backoff (full jitter). Without it the owner
   * calls `connect()` again when it wants the session back.
   */
  reconnect?: {
    initialMs?: number;
    maxMs?: number;
    /** An attempt failed; `attempt` counts the attempts scheduled since the loss. Another one follows. */
    onRetryFailed?: (error: Error, attempt: number) => void;
    onReconnected?: () => void;
  };
}

/**
 * One long-lived PostgreSQL session on a dedicated connection (dedicatedClient.ts) that knows when it is
 * lost: every connection has a generation, and only the current one's failure counts, once; a connection
 * that was lost, superseded or closed while connecting is destroyed instead of used. A query that misses
 * its deadline loses the session (its answer can no longer be trusted, and a half-open socket would never
 * answer). Used by the event listener (LISTEN), the scheduler leadership and owner liveness (advisory locks).
 */
export class ReconnectingSession {
  private current: pg.Client | undefined;
  private generation = 0;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconnectingSessionOptions) {}

  /** The connection while the session is up. */
  get client(): pg.Client | undefined {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  /** Opens the session (or a new one after a loss); rejects when this attempt fails or is superseded. */
  async connect(): Promise<pg.Client> {
    this.closed = false;
    return this.open(false);
  }

  /**
   * A query on the session with a deadline. It rejects when the session is down, and a failure or a missed
   * deadline loses the session unless `keepOnFailure` (a question whose failure says nothing about it).
   */
  async query<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[],
    deadline: { timeoutMs: number; what: string; keepOnFailure?: boolean },
  ): Promise<R[]> {
    const client = this.current;
    if (!client) throw new Error(`${this.options.label} is not connected`);
    const generation = this.generation;
    try {
      const answer = client.query<R>(sql, params);
      if (!(await settlesWithin(answer, deadline.timeoutMs))) throw new Error(`${deadline.what} did not answer within ${deadline.timeoutMs} ms`);
      return (await answer).rows;
    } catch (error) {
      if (!deadline.keepOnFailure) this.lost(generation, error as Error);
      throw error;
    }
  }

  /** Counts `client`'s session as lost (a check's answer was wrong); nothing when a newer session exists. */
  lose(client: pg.Client, error: Error): void {
    if (client === this.current) this.lost(this.generation, error);
  }

  /** Ends the session for good (until `connect()`): no reconnect, no loss reported. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.generation++;
    const client = this.current;
    this.current = undefined;
    if (client) await closeClient(client);
  }

  private async open(reconnecting: boolean): Promise<pg.Client> {
    const generation = ++this.generation;
    const client = await connectDedicated(
      { databaseUrl: this.options.databaseUrl, applicationName: this.options.applicationName, connectTimeoutMs: this.options.connectTimeoutMs },
      (error) => this.lost(generation, error),
    );
    try {
      await this.options.prepare?.(client, reconnecting);
    } catch (error) {
      if (generation === this.generation) this.generation++; // its 'end' must not count as a loss
      destroyClient(client);
      throw error;
    }
    if (generation !== this.generation || this.closed) {
      destroyClient(client); // lost or closed while connecting
      throw new Error(`${this.options.label} superseded`);
    }
    this.current = client;
    return client;
  }

  private lost(generation: number, error: Error): void {
    if (generation !== this.generation || this.closed) return;
    this.generation++;
    const client = this.current;
    this.current = undefined;
    if (!client) return; // broken while connecting: that attempt fails by itself
    destroyClient(client);
    this.options.onLost?.(error);
    if (this.options.reconnect) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.attempt++, this.options.reconnect?.initialMs ?? 100, this.options.reconnect?.maxMs ?? 5_000);
    this.retryTimer = setTimeout(() => void this.retry(), delay);
  }

  private async retry(): Promise<void> {
    if (this.closed) return;
    try {
      await this.open(true);
    } catch (error) {
      if (this.closed) return;
      this.options.reconnect?.onRetryFailed?.(error as Error, this.attempt);
      this.scheduleRetry();
      return;
    }
    this.attempt = 0;
    this.options.reconnect?.onReconnected?.();
  }
}

/** Exponential backoff with full jitter, capped: attempt 0 waits up to `initialMs`. */
function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
