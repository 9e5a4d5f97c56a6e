import type { SqlExecutor } from '../sqlExecutor.js';

/**
 * Who writes `replica_presence`: only replicas/presence.ts, each replica its own row (`upsertPresence`,
 * `deletePresence` on a clean stop) and any replica the rows whose lease passed over an hour ago
 * (`deleteExpiredPresence`). Statements take an executor so a test can drive them over a plain pg pool.
 */

export interface PresenceRow {
  replicaId: string;
  globalSubscribers: number;
  /** Run id -> that replica's run-stream subscribers. */
  runSubscribers: Record<string, number>;
  leaseMs: number;
}

/** Publishes a replica's counts with a lease of `leaseMs` on the database clock. */
export async function upsertPresence(execute: SqlExecutor, row: PresenceRow): Promise<void> {
  await execute(
    `insert into replica_presence (replica_id, global_subscribers, run_subscribers, lease_until, updated_at)
     values (?, ?, ?::jsonb, now() + ? * interval '1 millisecond', now())
     on conflict (replica_id) do update set global_subscribers = excluded.global_subscribers,
       run_subscribers = excluded.run_subscribers, lease_until = excluded.lease_until, updated_at = excluded.updated_at`,
    [row.replicaId, row.globalSubscribers, JSON.stringify(row.runSubscribers), row.leaseMs],
  );
}

export async function deletePresence(execute: SqlExecutor, replicaId: string): Promise<void> {
  await execute('delete from replica_presence where replica_id = ?', [replicaId]);
}

export async function deleteExpiredPresence(execute: SqlExecutor): Promise<void> {
  await execute(`delete from replica_presence where lease_until < now() - interval '1 hour'`);
}

/** Watchers of `runId` on every replica whose lease holds (its run-stream plus global-stream subscribers), without `exceptReplica`'s row when given. */
export async function selectWatchers(execute: SqlExecutor, runId: number, exceptReplica: string | null): Promise<number> {
  const rows = await execute<{ watchers: number }>(
    `select coalesce(sum(global_subscribers + coalesce((run_subscribers ->> ?)::int, 0)), 0)::int as watchers
     from replica_presence where lease_until > now() and (not ? or replica_id <> ?)`,
    [String(runId), exceptReplica !== null, exceptReplica ?? ''],
  );
  return Number(rows[0]?.watchers ?? 0);
}
