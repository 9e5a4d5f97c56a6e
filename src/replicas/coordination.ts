import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { singleFlight } from '../shared/singleFlight.js';
import { Leadership } from './leadership.js';
import type { PostgresProgressBus } from '../events/index.js';
import type { ReplicaMetrics } from './replicaMetrics.js';

export interface CoordinationDeps {
  config: Pick<Config, 'leaderRetryMs' | 'orphanCheckIntervalMs'>;
  databaseUrl: string;
  replicaId: string;
  logger: Logger;
  bus: PostgresProgressBus;
  scheduler: Scheduler;
  metrics: ReplicaMetrics;
  /** Fails the runs of owners whose liveness lock is free (recoverInterruptedRuns, periodic). */
  recoverOrphans(): Promise<number>;
}

export interface Coordination {
  leadership: Leadership;
  stop(): Promise<void>;
}

/**
 * What makes N replicas one service beyond the bus: one leader ticks the scheduler's jobs and looks for
 * dead owners' runs every ORPHAN_CHECK_INTERVAL_MS; every replica reloads the scheduler state when it sees
 * `scheduler.changed` on the bus (the leader re-arms on it), so pause, resume, interval and run-now work
 * through any replica and GET /api/scheduler answers the same everywhere.
 */
export async function startCoordination(deps: CoordinationDeps): Promise<Coordination> {
  const { logger, scheduler } = deps;
  let orphanTimer: NodeJS.Timeout | undefined;
  // A check due while one is still running is skipped, not queued: the next interval comes soon enough.
  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    sweeping ??= deps
      .recoverOrphans()
      .then(
        () => undefined,
        (error: unknown) => logger.warn({ err: error }, 'cannot check for runs of dead replicas: retrying at the next check'),
      )
      .finally(() => {
        sweeping = undefined;
      });
  };
  // Scheduler transitions in order, so a quick lose-win cannot leave timers armed on a follower.
  let roleChange: Promise<void> = Promise.resolve();
  const setRole = (leading: boolean) => {
    roleChange = roleChange.then(() => scheduler.lead(leading)).catch((error: unknown) => logger.error({ err: error }, 'scheduler role change failed'));
  };
  const leadership = new Leadership({
    databaseUrl: deps.databaseUrl,
    applicationName: `oddswatch-leader-${deps.replicaId}`,
    logger,
    retryIntervalMs: deps.config.leaderRetryMs,
    onLeader: () => {
      deps.metrics.leadershipTaken();
      setRole(true);
      clearInterval(orphanTimer);
      orphanTimer = setInterval(sweep, deps.config.orphanCheckIntervalMs);
      orphanTimer.unref();
      sweep();
    },
    onFollower: () => {
      clearInterval(orphanTimer);
      orphanTimer = undefined;
      setRole(false);
    },
  });
  deps.metrics.observeLeader(() => leadership.isLeader());

  // Changes seen during a reload are read by one more reload after it.
  const reloads = singleFlight(async () => {
    await roleChange;
    await scheduler.reload().catch((error: unknown) => logger.warn({ err: error }, 'cannot reload the scheduler state'));
  });
  const untap = deps.bus.tap((event) => {
    if (event.type === 'scheduler.changed') void reloads.run();
  });

  await leadership.start();
  await roleChange; // a lone replica has armed its jobs when the service starts listening
  return {
    leadership,
    async stop() {
      untap();
      clearInterval(orphanTimer);
      await leadership.stop();
      await roleChange;
    },
  };
}
