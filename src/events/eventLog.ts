import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import type { EventPayloads, EventType, StreamEvent } from '../shared/contract.js';
import type { EventGuard } from './eventGuard.js';
import { EVENTS_CHANNEL, insertEventAndNotify, latestEventId, type PublishedEventRow } from './eventPublisher.js';
import { toStreamEvent } from './eventListener.js';
import type { ProgressBus } from './progressBus.js';

type EventRow = PublishedEventRow & { type: EventType };

export type ReplayResult =
  | { kind: 'events'; events: StreamEvent[] }
  | { kind: 'resync'; reason: 'cursor_too_old' | 'cursor_unknown'; latestId: number };

/**
 * The persisted progress log, and the publishing side of the PostgreSQL bus. `record` stores an event
 * and its NOTIFY in one transaction through insertEventAndNotify (the events advisory lock first, so
 * ids become visible in increasing order across every replica; a run's `seq` from `runs.last_seq` under
 * the row lock, so the runner and the watchdog never take the same one), then hands it to the bus,
 * which delivers it here at once when it is the next id and through its LISTEN session otherwise.
 * Every writer of run_events goes through here (see docs/replicas.md, "Progress events").
 */
export class EventLog {
  constructor(
    private readonly orm: Orm,
    private readonly bus: ProgressBus,
  ) {}

  async record<T extends EventType>(runId: number | null, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
    return (await this.write(runId, type, data))!;
  }

  /**
   * Records a run's event together with the write it reports, in one statement (see EventGuard): both or
   * neither. Undefined when the guarded write did not happen (e.g. the run already ended the step).
   */
  recordIf<T extends EventType>(runId: number, type: T, data: EventPayloads[T], guard: EventGuard): Promise<StreamEvent | undefined> {
    return this.write(runId, type, data, guard);
  }

  private async write(runId: number | null, type: EventType, data: unknown, guard?: EventGuard): Promise<StreamEvent | undefined> {
    const execute = <R,>(sql: string, params?: unknown[]) => boundRows<R>(this.orm, sql, params);
    const release = this.bus.beginPublish?.();
    let row;
    try {
      // One statement in autocommit: lock, (guarded write,) insert, notify and commit in one round trip.
      row = guard && runId !== null ? await insertEventAndNotify(execute, runId, type, data, EVENTS_CHANNEL, guard) : await insertEventAndNotify(execute, runId, type, data);
    } finally {
      release?.();
    }
    if (!row) return undefined;
    const event = toStreamEvent(row);
    this.bus.publish(event);
    return event;
  }

  /** A run's events after `afterSeq`, in order. */
  async runEventsAfter(runId: number, afterSeq: number): Promise<StreamEvent[]> {
    const rows = await boundRows<EventRow>(this.orm, `select id, run_id, seq, type, payload, created_at from run_events where run_id = ? and seq > ? order by seq`, [runId, afterSeq]);
    return rows.map(toStreamEvent);
  }

  /** Global progress events after stream position `afterId`, within the replay window; a position outside it asks the client to resync. */
  async globalEventsAfter(afterId: number, window: number): Promise<ReplayResult> {
    const maxId = await this.latestGlobalId();
    if (afterId > maxId) return { kind: 'resync', reason: 'cursor_unknown', latestId: maxId };
    const rows = await boundRows<EventRow>(this.orm, `select id, run_id, seq, type, payload, created_at from run_events where id > ? order by id limit ?`, [afterId, window + 1]);
    if (rows.length > window) return { kind: 'resync', reason: 'cursor_too_old', latestId: maxId };
    return { kind: 'events', events: rows.map(toStreamEvent) };
  }

  async latestGlobalId(): Promise<number> {
    return latestEventId((sql, params) => boundRows(this.orm, sql, params));
  }
}
