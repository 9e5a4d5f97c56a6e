import type { Logger } from 'pino';
import type { SqlExecutor } from '../db/sqlExecutor.js';

/** This replica's local subscriber counts: global-stream subscribers and run-stream subscribers per run. */
export interface LocalCounts {
  global: number;
  runs: ReadonlyMap<number, number>;
}

export interface ReplicaPresenceOptions {
  execute: SqlExecutor;
  replicaId: string;
  counts: () => LocalCounts;
  logger: Logger;
  /** Default 2 s. */
  refreshMs?: number;
  /** Default three refreshes: a replica that missed three refreshes stops counting. */
  leaseMs?: number;
  /** Least time between two writes caused by subscriptions starting or ending. Default 250 ms. */
  changeSpacingMs?: number;
}

/**
 * Watchers across replicas. Each replica upserts one `replica_presence` row with its counts and a lease
 * (`lease_until`, on the database clock so replicas' clocks need not agree) every refresh; readers sum
 * only rows whose lease has not passed, so a dead replica's watchers stop counting within one lease.
 * A clean stop deletes the row at once. Rows whose lease passed over an hour ago are pruned.
 */
export class ReplicaPresence {
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private readonly refreshMs: number;
  private readonly leaseMs: number;
  private readonly changeSpacingMs: number;
  private lastChangeWrite = -Infinity;
  private changeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReplicaPresenceOptions) {
    this.refreshMs = options.refreshMs ?? 2_000;
    this.leaseMs = options.leaseMs ?? 3 * this.refreshMs;
    this.changeSpacingMs = options.changeSpacingMs ?? 250;
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  async start(): Promise<void> {
    await this.publish();
    this.timer = setInterval(() => void this.publish(), this.refreshMs);
    this.timer.unref();
  }

  /**
   * Publishes the current counts now (also call it when a subscription starts or ends); never rejects.
   * Calls made while a write is waiting share it (it reads the counts when it runs), so a storm of
   * subscriptions costs at most one write in flight and one queued.
   */
  publish(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.tail.then(() => {
      this.queued = undefined;
      return this.write();
    });
    this.queued = next;
    this.tail = next;
    return next;
  }

  /**
   * A subscription started or ended. The first change after a quiet spell is written at once; a storm
   * (5,000 dashboards connecting) is written at most every `changeSpacingMs`, with the counts as they
   * are then, instead of back to back for as long as the storm lasts.
   */
  changed(): void {
    if (this.changeTimer) return;
    const wait = this.lastChangeWrite + this.changeSpacingMs - performance.now();
    const write = () => {
      this.changeTimer = undefined;
      this.lastChangeWrite = performance.now();
      void this.publish();
    };
    if (wait <= 0) return write();
    this.changeTimer = setTimeout(write, wait);
    this.changeTimer.unref();
  }

  /** Who watches `runId` on every live replica: that run's stream subscribers plus global-stream subscribers. */
  async watchersOf(runId: number): Promise<number> {
    return this.sum(runId, false);
  }

  /** The same, without this replica's row: add the exact local count to it. */
  async remoteWatchersOf(runId: number): Promise<number> {
    return this.sum(runId, true);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.changeTimer);
    this.timer = undefined;
    this.changeTimer = undefined;
    await this.tail;
    await this.options.execute('delete from replica_presence where replica_id = ?', [this.options.replicaId]);
  }

  private async write(): Promise<void> {
    const counts = this.options.counts();
    const runs = Object.fromEntries([...counts.runs].filter(([, n]) => n > 0).map(([runId, n]) => [String(runId), n]));
    try {
      await this.options.execute(
        `insert into replica_presence (replica_id, global_subscribers, run_subscribers, lease_until, updated_at)
         values (?, ?, ?::jsonb, now() + ? * interval '1 millisecond', now())
         on conflict (replica_id) do update set global_subscribers = excluded.global_subscribers,
           run_subscribers = excluded.run_subscribers, lease_until = excluded.lease_until, updated_at = excluded.updated_at`,
        [this.options.replicaId, counts.global, JSON.stringify(runs), this.leaseMs],
      );
      await this.options.execute(`delete from replica_presence where lease_until < now() - interval '1 hour'`);
    } catch (error) {
      this.options.logger.warn({ err: error, replica_id: this.options.replicaId }, 'could not publish this replica\'s watchers: retrying at the next refresh');
    }
  }

  private async sum(runId: number, excludeSelf: boolean): Promise<number> {
    const rows = await this.options.execute<{ watchers: number }>(
      `select coalesce(sum(global_subscribers + coalesce((run_subscribers ->> ?)::int, 0)), 0)::int as watchers
       from replica_presence where lease_until > now() and (not ? or replica_id <> ?)`,
      [String(runId), excludeSelf, this.options.replicaId],
    );
    return Number(rows[0]?.watchers ?? 0);
  }
}
