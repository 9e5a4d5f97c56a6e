import type pg from 'pg';
import type { Logger } from 'pino';
import type { StreamEvent } from '../shared/contract.js';
import { backoffDelay, closeClient, connectDedicated, destroyClient, withTimeout } from '../db/dedicatedClient.js';
import { EVENTS_CHANNEL, type PublishedEventRow } from './eventPublisher.js';

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
 * with capped exponential backoff, re-LISTENs and catches up from the last delivered id: nothing lost.
 */
export class EventListener {
  private client: pg.Client | undefined;
  private generation = 0;
  private lastId = 0;
  private reading = false;
  private readAgain = false;
  private stopped = true;
  private positioned = false;
  private reconnectAttempt = 0;
  private reconnectCount = 0;
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
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
  }

  get lastDeliveredId(): number {
    return this.lastId;
  }

  get reconnects(): number {
    return this.reconnectCount;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Connects, LISTENs and delivers what is already after `afterId`; rejects when the first connection fails. */
  async start(): Promise<void> {
    this.stopped = false;
    this.reading = true; // no delivery before the starting position is known
    try {
      await this.connect();
      this.lastId = this.options.afterId === 'latest' ? await this.latestId() : this.options.afterId;
      this.positioned = true;
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      this.reading = false;
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
    clearTimeout(this.reconnectTimer);
    this.generation++;
    const client = this.client;
    this.client = undefined;
    if (client) await closeClient(client);
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const client = await connectDedicated(
      { databaseUrl: this.options.databaseUrl, applicationName: this.options.applicationName },
      (error) => this.connectionLost(generation, error),
    );
    client.on('notification', (message) => {
      if (generation !== this.generation || message.channel !== this.channel) return;
      const id = Number(message.payload);
      if (id <= this.lastId) return;
      this.knownId = Math.max(this.knownId, id);
      if (this.localInFlight > 0 || this.held.size > 0) this.readAfterGrace();
      else void this.drain();
    });
    try {
      await client.query(`listen ${client.escapeIdentifier(this.channel)}`);
    } catch (error) {
      if (generation === this.generation) this.generation++; // its 'end' must not count as a loss
      destroyClient(client);
      throw error;
    }
    if (generation !== this.generation) {
      destroyClient(client); // lost or stopped while connecting
      throw new Error('listener connection superseded');
    }
    this.client = client;
  }

  private async latestId(): Promise<number> {
    const { rows } = await this.client!.query<{ max_id: string | null }>('select max(id) as max_id from run_events');
    return Number(rows[0]?.max_id ?? 0);
  }

  private connectionLost(generation: number, error: Error): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    const client = this.client;
    this.client = undefined;
    if (client) destroyClient(client);
    this.options.logger.warn({ err: error, last_event_id: this.lastId }, 'progress bus listener lost its connection: reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.reconnectAttempt++, this.settings.backoffInitialMs, this.settings.backoffMaxMs);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.connect();
    } catch (error) {
      if (this.stopped) return;
      this.options.logger.warn({ err: error, attempt: this.reconnectAttempt }, 'progress bus listener could not reconnect: retrying');
      this.scheduleReconnect();
      return;
    }
    this.reconnectAttempt = 0;
    this.reconnectCount++;
    this.options.onReconnect?.();
    this.options.logger.warn({ last_event_id: this.lastId, reconnects: this.reconnectCount }, 'progress bus listener reconnected: catching up');
    await this.drain();
  }

  /** Half-open detection: the session must answer quickly and still be listening on the channel. */
  private async check(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const generation = this.generation;
    try {
      const { rows } = await withTimeout(
        client.query<{ listening: boolean }>('select exists (select 1 from pg_listening_channels() c where c = $1) as listening', [this.channel]),
        this.settings.checkTimeoutMs,
        'listener check',
      );
      if (!rows[0]?.listening) throw new Error(`no longer listening on ${this.channel}`);
    } catch (error) {
      this.connectionLost(generation, error as Error);
    }
  }

  /** Reads and delivers every row after the last delivered id; one read at a time, re-run when asked meanwhile. */
  private async drain(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        const client = this.client;
        if (!client || this.stopped) break;
        const generation = this.generation;
        let rows: PublishedEventRow[];
        try {
          ({ rows } = await withTimeout(
            client.query<PublishedEventRow>(
              'select id, run_id, seq, type, payload, created_at from run_events where id > $1 order by id limit $2',
              [this.lastId, this.settings.batchSize],
            ),
            this.settings.checkTimeoutMs * 5,
            'listener read',
          ));
        } catch (error) {
          if (generation === this.generation) this.connectionLost(generation, error as Error);
          else this.readAgain = true; // a newer session exists: read on it
          continue;
        }
        for (const row of rows) this.deliver(row);
        this.releaseHeld();
        if (rows.length === this.settings.batchSize) this.readAgain = true;
      } while (this.readAgain && !this.stopped);
    } finally {
      this.reading = false;
    }
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
