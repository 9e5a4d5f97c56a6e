import type { Orm } from '../db/database.js';
import type { EventPayloads, EventType, StreamEvent } from '../shared/contract.js';
import type { ProgressBus } from './progressBus.js';

interface EventRow {
  id: string;
  run_id: string | null;
  seq: number | null;
  type: EventType;
  payload: unknown;
  created_at: Date | string;
}

export type ReplayResult =
  | { kind: 'events'; events: StreamEvent[] }
  | { kind: 'resync'; reason: 'cursor_too_old' | 'cursor_unknown'; latestId: number };

/**
 * The persisted progress log. `record` stores an event (a run's `seq` taken from `runs.last_seq` under
 * the row lock, so the runner and the watchdog can never take the same one) and only then publishes it.
 * Records are serialised in this process so that global ids are published in increasing order: a
 * client resuming after id N can never miss a smaller id committed later.
 */
export class EventLog {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly orm: Orm,
    private readonly bus: ProgressBus,
  ) {}

  record<T extends EventType>(runId: number | null, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
    const next = this.tail.then(() => this.insertAndPublish(runId, type, data));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async insertAndPublish<T extends EventType>(runId: number | null, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
    const connection = this.orm.em.getConnection();
    const rows =
      runId === null
        ? await connection.execute<EventRow[]>(
            `insert into run_events (type, payload) values (?, ?::jsonb) returning id, run_id, seq, type, payload, created_at`,
            [type, JSON.stringify(data)],
            'all',
          )
        : await connection.execute<EventRow[]>(
            `with next as (update runs set last_seq = last_seq + 1 where id = ? returning id, last_seq)
             insert into run_events (run_id, seq, type, payload) select id, last_seq, ?, ?::jsonb from next
             returning id, run_id, seq, type, payload, created_at`,
            [runId, type, JSON.stringify(data)],
            'all',
          );
    const row = rows[0];
    if (!row) throw new Error(`cannot record ${type}: run ${runId} does not exist`);
    const event = toStreamEvent(row);
    this.bus.publish(event);
    return event;
  }

  /** A run's events after `afterSeq`, in order. */
  async runEventsAfter(runId: number, afterSeq: number): Promise<StreamEvent[]> {
    const rows = await this.orm.em
      .getConnection()
      .execute<EventRow[]>(
        `select id, run_id, seq, type, payload, created_at from run_events where run_id = ? and seq > ? order by seq`,
        [runId, afterSeq],
        'all',
      );
    return rows.map(toStreamEvent);
  }

  /** Global progress events after stream position `afterId`, within the replay window; a position outside it asks the client to resync. */
  async globalEventsAfter(afterId: number, window: number): Promise<ReplayResult> {
    const connection = this.orm.em.getConnection();
    const [bounds] = await connection.execute<{ max_id: string | null }[]>(`select max(id) as max_id from run_events`, [], 'all');
    const maxId = Number(bounds?.max_id ?? 0);
    if (afterId > maxId) return { kind: 'resync', reason: 'cursor_unknown', latestId: maxId };
    const rows = await connection.execute<EventRow[]>(
      `select id, run_id, seq, type, payload, created_at from run_events where id > ? order by id limit ?`,
      [afterId, window + 1],
      'all',
    );
    if (rows.length > window) return { kind: 'resync', reason: 'cursor_too_old', latestId: maxId };
    return { kind: 'events', events: rows.map(toStreamEvent) };
  }

  async latestGlobalId(): Promise<number> {
    const [row] = await this.orm.em.getConnection().execute<{ max_id: string | null }[]>(`select max(id) as max_id from run_events`, [], 'all');
    return Number(row?.max_id ?? 0);
  }
}

function toStreamEvent(row: EventRow): StreamEvent {
  return {
    id: Number(row.id),
    seq: row.seq,
    runId: row.run_id === null ? null : Number(row.run_id),
    type: row.type,
    at: new Date(row.created_at).toISOString(),
    data: (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as never,
  } as StreamEvent;
}
