import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { PostgresProgressBus } from '../events/index.js';
import { startCoordination, type Coordination, type CoordinationDeps } from '../replicas/coordination.js';
import { OwnerLiveness } from '../replicas/ownerLiveness.js';
import { ReplicaPresence } from '../replicas/presence.js';
import type { ReplicaMetrics } from '../replicas/replicaMetrics.js';
import type { CleanupStack } from './cleanupStack.js';
import { StepQueue } from '../queue/stepQueue.js';
import { STEP_ATTEMPTS } from '../runs/stepJob.js';

/** A replica that stopped sending heartbeats for a step job this long loses it (the queue engine's floor). */
export const STEP_JOB_HEARTBEAT_SECONDS = 10;

export interface ReplicaMembership {
  liveness: OwnerLiveness;
  bus: PostgresProgressBus;
  presence: ReplicaPresence;
}

export interface JoinReplicasDeps {
  config: Pick<Config, 'presenceRefreshMs'>;
  databaseUrl: string;
  orm: Orm;
  ownerId: string;
  logger: Logger;
  metrics: ReplicaMetrics;
  /** The liveness lock lost (a survivor may now fail this process's runs) and held again. */
  onLivenessLost(): void;
  onLivenessRegained(): void;
}

/**
 * This process as one replica among others: the liveness lock that says its runs' owner is alive, the
 * PostgreSQL progress bus, and the presence row that publishes its subscriber counts.
 */
export async function joinReplicas(deps: JoinReplicasDeps, cleanups: CleanupStack): Promise<ReplicaMembership> {
  const { databaseUrl, ownerId, logger } = deps;
  const liveness = await OwnerLiveness.hold(databaseUrl, ownerId, { logger, onLost: () => deps.onLivenessLost(), onRegained: () => deps.onLivenessRegained() });
  cleanups.push(() => liveness.release());

  const bus = new PostgresProgressBus({ databaseUrl, replicaId: ownerId, logger, onReconnect: () => deps.metrics.busReconnected() });
  await bus.start();
  cleanups.push(() => bus.stop());
  const presence = new ReplicaPresence({
    execute: (sql, params) => boundRows(deps.orm, sql, params),
    replicaId: ownerId,
    counts: () => bus.localCounts(),
    logger,
    refreshMs: deps.config.presenceRefreshMs,
  });
  await presence.start();
  cleanups.push(() => presence.stop());
  bus.onSubscribersChanged(() => presence.changed());
  return { liveness, bus, presence };
}

/** The leader ticks the jobs and fails dead replicas' runs; every replica follows scheduler.changed. */
export async function coordinateReplicas(deps: CoordinationDeps, cleanups: CleanupStack): Promise<Coordination> {
  const coordination = await startCoordination(deps);
  cleanups.push(async () => {
    deps.scheduler.stop();
    await coordination.stop();
  });
  return coordination;
}

/**
 * The step jobs' queue (pg-boss on this database): started before the run engine, stopped after it (cleanups
 * run in reverse). A job has STEP_ATTEMPTS deliveries that scrape, and one more that records `interrupted`.
 */
export async function joinStepQueue(deps: { databaseUrl: string; logger: Logger }, cleanups: CleanupStack): Promise<StepQueue> {
  const queue = await StepQueue.start({ databaseUrl: deps.databaseUrl, logger: deps.logger.child({ component: 'step-queue' }), retryLimit: STEP_ATTEMPTS, heartbeatSeconds: STEP_JOB_HEARTBEAT_SECONDS });
  cleanups.push(() => queue.stop());
  queue.observeDepth(5_000);
  return queue;
}
