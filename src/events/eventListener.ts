import type pg from 'pg';
import type { Logger } from 'pino';
import type { StreamEvent } from '../shared/contract.js';
import { ReconnectingSession } from '../db/reconnectingSession.js';
import { pgExecutor } from '../db/sqlExecutor.js';
import { singleFlight } from '../shared/singleFlight.js';
import { EVENTS_CHANNEL, latestEventId, type PublishedEventRow } from './eventPublisher.js';

export interface EventListenerOptions {
  databaseUrl: string;
  /** application_name of the LISTEN session (how an operator, or a test, finds its backend). */
  applicationName: string;
  logger: Logger;
  /** The local fan-out: called once per event, in increasing id order, never twice for an id. */
  onEvent: (event: StreamEvent) => void;
  /** Deliver events after this id; 'latest': only events committed after start. */
  afterId: number | 'latest';
  channel?: string;
  /** Counted by the caller as `oddswatch_bus_reconnects_total`. */
  onReconnect?: () => void;
  pollIntervalMs?: number;
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  batchSize?: number;
}

/** How long a notification or an early local offer waits for this process's own writers' offers. */
const LOCAL_GRACE_MS = 20;

/**
 * The receiving side of the PostgreSQL progress bus: one dedicated LISTEN session; on a notification
 * (or a periodic poll, the safety net for a lost notification) it reads the rows after the last id it
 * delivered, in id order, and hands them to `onEvent`. Because writers publish under the events lock
 * (see eventPublisher.ts), seeing id N means no smaller id can still appear, so "read after the last
 * delivered id" never skips one. A periodic check (`select` with a timeout that also asserts the
 * LISTEN is still registered) catches a half-open session; any failure drops the session, reconnects
 * with capped exponential backoff (reconnectingSession.ts), re-LISTENs and catches up from the last
 * delivered id: nothing lost.
 */
export class EventListener {
  private readonly session: ReconnectingSession;
  /** One read at a time; asked for during a read, one more read after it. */
  private readonly reads = singleFlight(() => this.readOnce());
  private lastId = 0;
  private stopped = true;
  private positioned = false;
  private reconnectCount = 0;
  private timers: NodeJS.Timeout[] = [];
  /** Events of this process's writers that arrived ahead of an earlier id (replies can overtake each other). */
  private readonly held = new Map<number, StreamEvent>();
  /** Writes by this process between their insert and their offer. */
  private localInFlight = 0;
  /** The highest id known to exist (notified or offered). */
  private knownId = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly channel: string;
  private readonly settings: Required<Pick<EventListenerOptions, 'pollIntervalMs' | 'checkIntervalMs' | 'checkTimeoutMs' | 'backoffInitialMs' | 'backoffMaxMs' | 'batchSize'>>;

  constructor(private readonly options: EventListenerOptions) {
    this.channel = options.channel ?? EVENTS_CHANNEL;
    this.settings = {
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      checkIntervalMs: options.checkIntervalMs ?? 5_000,
      checkTimeoutMs: options.checkTimeoutMs ?? 2_000,
      backoffInitialMs: options.backoffInitialMs ?? 100,
      backoffMaxMs: options.backoffMaxMs ?? 5_000,
      batchSize: options.batchSize ?? 500,
    };
    this.session = new ReconnectingSession({
      databaseUrl: options.databaseUrl,
      applicationName: options.applicationName,
      label: 'listener connection',
      prepare: (client) => this.listen(client),
      onLost: (error) =>
        this.options.logger.warn({ err: error, last_event_id: this.lastId }, 'progress bus listener lost its connection: reconnecting'),
      reconnect: {
        initialMs: this.settings.backoffInitialMs,
        maxMs: this.settings.backoffMaxMs,
        onRetryFailed: (error, attempt) => this.options.logger.warn({ err: error, attempt }, 'progress bus listener could not reconnect: retrying'),
        onReconnected: () => {
          this.reconnectCount++;
          this.options.onReconnect?.();
          this.options.logger.warn({ last_event_id: this.lastId, reconnects: this.reconnectCount }, 'progress bus listener reconnected: catching up');
          void this.drain();
        },
      },
    });
  }

  get lastDeliveredId(): number {
    return this.lastId;
  }

  get reconnects(): number {
    return this.reconnectCount;
  }

  get connected(): boolean {
    return this.session.connected;
  }

  /** Connects, LISTENs and delivers what is already after `afterId`; rejects when the first connection fails. */
  async start(): Promise<void> {
    this.stopped = false;
    this.positioned = false; // no delivery before the starting position is known
    try {
      const client = await this.session.connect();
      this.lastId = this.options.afterId === 'latest' ? await latestEventId(pgExecutor(client)) : this.options.afterId;
      this.positioned = true;
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.timers.push(setInterval(() => void this.drain(), this.settings.pollIntervalMs));
    this.timers.push(setInterval(() => void this.check(), this.settings.checkIntervalMs));
    for (const timer of this.timers) timer.unref();
    await this.drain();
  }

  /**
   * Called before this process writes an event; the returned function when the write returned (before
   * `offer`). While a local write is in flight, a notification or an early offer waits up to
   * LOCAL_GRACE_MS for the local offers before reading: the notification of our own commit often arrives
   * before the writer's reply, and concurrent writers' replies can overtake each other.
   */
  expectLocal(): () => void {
    this.localInFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.localInFlight -= 1;
    };
  }

  /**
   * An event this process has just committed. When it is the next id it is delivered at once, saving the
   * notification round trip and a read (the usual case with one replica); when an earlier id is missing
   * it is held, and the gap is filled by the earlier local offer or, after the grace, by a read in order
   * (another replica's event, or an id a rolled-back writer consumed). Either way each id is delivered once.
   */
  offer(event: StreamEvent): void {
    if (this.stopped || !this.positioned || event.id <= this.lastId) return;
    this.knownId = Math.max(this.knownId, event.id);
    this.held.set(event.id, event);
    this.releaseHeld();
    if (this.held.size > 0) this.readAfterGrace();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.held.clear();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.session.close();
  }

  /** Each new connection: notifications of the session that is up, then LISTEN. */
  private async listen(client: pg.Client): Promise<void> {
    client.on('notification', (message) => {
      if (client !== this.session.client || message.channel !== this.channel) return;
      const id = Number(message.payload);
      if (id <= this.lastId) return;
      this.knownId = Math.max(this.knownId, id);
      if (this.localInFlight > 0 || this.held.size > 0) this.readAfterGrace();
      else void this.drain();
    });
    await client.query(`listen ${client.escapeIdentifier(this.channel)}`);
  }

  /** Half-open detection: the session must answer quickly and still be listening on the channel. */
  private async check(): Promise<void> {
    const client = this.session.client;
    if (!client) return;
    try {
      const rows = await this.session.query<{ listening: boolean }>(
        'select exists (select 1 from pg_listening_channels() c where c = $1) as listening',
        [this.channel],
        { timeoutMs: this.settings.checkTimeoutMs, what: 'listener check' },
      );
      if (!rows[0]?.listening) this.session.lose(client, new Error(`no longer listening on ${this.channel}`));
    } catch {
      // the session is lost and reconnecting
    }
  }

  /** Reads and delivers every row after the last delivered id; one read at a time, re-run when asked meanwhile. */
  private drain(): Promise<void> {
    return this.reads.run();
  }

  private async readOnce(): Promise<void> {
    if (!this.session.connected || this.stopped || !this.positioned) return;
    let rows: PublishedEventRow[];
    try {
      rows = await this.session.query<PublishedEventRow>(
        'select id, run_id, seq, type, payload, created_at from run_events where id > $1 order by id limit $2',
        [this.lastId, this.settings.batchSize],
        { timeoutMs: this.settings.checkTimeoutMs * 5, what: 'listener read' },
      );
    } catch {
      void this.drain(); // a newer session may exist: read on it
      return;
    }
    for (const row of rows) this.deliver(row);
    this.releaseHeld();
    if (rows.length === this.settings.batchSize) void this.drain();
  }

  /** Delivers held events that are next in order; drops those already delivered by a read. */
  private releaseHeld(): void {
    for (let next = this.held.get(this.lastId + 1); next; next = this.held.get(this.lastId + 1)) {
      this.held.delete(next.id);
      this.lastId = next.id;
      this.emit(next);
    }
    for (const id of this.held.keys()) if (id <= this.lastId) this.held.delete(id);
  }

  /** Reads once the grace has passed, unless local offers have delivered up to every known id by then. */
  private readAfterGrace(): void {
    if (this.graceTimer) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.knownId > this.lastId) void this.drain();
    }, LOCAL_GRACE_MS);
    this.graceTimer.unref();
  }

  private deliver(row: PublishedEventRow): void {
    const id = Number(row.id);
    if (id <= this.lastId) return;
    this.lastId = id;
    this.emit(toStreamEvent(row));
  }

  private emit(event: StreamEvent): void {
    try {
      this.options.onEvent(event);
    } catch (error) {
      this.options.logger.error({ err: error, event_id: event.id }, 'progress event subscriber threw');
    }
  }
}

export function toStreamEvent(row: PublishedEventRow): StreamEvent {
  return {
    id: Number(row.id),
    seq: row.seq,
    runId: row.run_id === null ? null : Number(row.run_id),
    type: row.type,
    at: new Date(row.created_at).toISOString(),
    data: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
  } as StreamEvent;
}
