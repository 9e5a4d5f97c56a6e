import { LOCK_NAMES, type SqlExecutor } from '../db/sqlExecutor.js';
import { guardStatement, type EventGuard } from './eventGuard.js';

/** The channel every replica LISTENs on; a notification's payload is the global id of one new event row. */
export const EVENTS_CHANNEL = 'oddswatch_events';

export interface PublishedEventRow extends Record<string, unknown> {
  id: string;
  run_id: string | null;
  seq: number | null;
  type: string;
  payload: unknown;
  created_at: Date | string;
}

/** The global id of the newest event row (0: none yet). */
export async function latestEventId(execute: SqlExecutor): Promise<number> {
  const [row] = await execute<{ max_id: string | null }>('select max(id) as max_id from run_events');
  return Number(row?.max_id ?? 0);
}

/**
 * The publishing side of the PostgreSQL bus: one statement, in autocommit or inside a transaction
 * (`executor` bound to it; the lock is then held until that transaction ends, so keep it short).
 * Every writer of `run_events` must go through it.
 *
 * Ordering rule: ids come from a sequence, and two writers may commit out of order (id N+1 visible
 * while N is still in flight), so a reader that trusted "max id seen" would skip N forever. Here
 * each writer first takes the transaction-scoped advisory lock `oddswatch-events`, then takes its id,
 * inserts and NOTIFYs; the lock is released only after the commit is visible. Hence ids become
 * visible in increasing order, and a reader that sees id N knows every smaller id is committed
 * already or was rolled back for good (a sequence value is never handed out again): it never waits
 * on a hole and never needs a settle window. Cost: event writes are serialised across replicas for
 * the length of the writer's transaction (one insert, a few ms); keep these transactions short.
 * Alternatives rejected: a settle window loses events behind a transaction slower than the window;
 * "deliver up to the oldest id in flight" needs each writer to advertise its id before commit (an
 * extra table and cleanup after crashed writers).
 *
 * Deadlock rule: take this lock before any row lock on `runs` in the same transaction (call it
 * first, or in a transaction of its own); it then takes the run's row lock for `last_seq` itself.
 */
export async function insertEventAndNotify(execute: SqlExecutor, runId: number | null, type: string, payload: unknown, channel?: string): Promise<PublishedEventRow>;
export async function insertEventAndNotify(
  execute: SqlExecutor,
  runId: number,
  type: string,
  payload: unknown,
  channel: string,
  guard: EventGuard,
): Promise<PublishedEventRow | undefined>;
export async function insertEventAndNotify(
  execute: SqlExecutor,
  runId: number | null,
  type: string,
  payload: unknown,
  channel = EVENTS_CHANNEL,
  guard?: EventGuard,
): Promise<PublishedEventRow | undefined> {
  // One statement (one round trip, and it may run in autocommit): the insert's rows come from the
  // lock's row, so the lock is taken before the id's nextval is evaluated. A guard's write is a CTE of
  // the same statement, and the event is inserted only when its `guard` CTE returns a row.
  const json = JSON.stringify(payload);
  const written = guard && runId !== null ? guardStatement(runId, guard) : undefined;
  // A platform's events carry the run's count of ended steps as the run's row has it (steps run on any replica).
  const countsSteps = type.startsWith('platform.');
  const rows =
    runId === null
      ? await execute<PublishedEventRow>(
          `with lock as (select pg_advisory_xact_lock(hashtextextended(?, 0))),
           inserted as (insert into run_events (type, payload) select ?, ?::jsonb from lock returning id, run_id, seq, type, payload, created_at)
           select inserted.*, pg_notify(?, inserted.id::text) from inserted`,
          [LOCK_NAMES.events, type, json, channel],
        )
      : await execute<PublishedEventRow>(
          `with lock as (select pg_advisory_xact_lock(hashtextextended(?, 0))),
           ${written ? `${written.ctes},` : ''}
           next as (update runs set last_seq = last_seq + 1, steps_done = steps_done + ?::int where id = ? and exists (select 1 from lock)
                    ${written ? 'and exists (select 1 from guard)' : ''} returning id, last_seq, steps_done),
           inserted as (insert into run_events (run_id, seq, type, payload)
                        select id, last_seq, ?, ?::jsonb${written?.payload ? ` || coalesce((${written.payload}), '{}'::jsonb)` : ''}${countsSteps ? ` || jsonb_build_object('platformsDone', steps_done)` : ''} from next
                        returning id, run_id, seq, type, payload, created_at)
           select inserted.*, pg_notify(?, inserted.id::text) from inserted`,
          [LOCK_NAMES.events, ...(written?.params ?? []), written?.endsStep ? 1 : 0, runId, type, json, channel],
        );
  const row = rows[0];
  if (!row && guard) return undefined; // the guarded write did not happen: no event
  if (!row) throw new Error(`cannot record ${type}: run ${runId} does not exist`);
  delete (row as Record<string, unknown>).pg_notify;
  return row;
}
