import type { Meter } from '@opentelemetry/api';

export interface ReplicaMetrics {
  busReconnected(): void;
  leadershipTaken(): void;
  observeLeader(isLeader: () => boolean): void;
}

/**
 * The metrics of running several replicas, exported by each replica: `oddswatch_scheduler_leader` (1 on
 * the leader), `oddswatch_scheduler_leadership_changes_total` (times this replica became the leader; the
 * sum over replicas counts takeovers) and `oddswatch_bus_reconnects_total` (LISTEN session reconnects).
 */
export function createReplicaMetrics(meter: Meter): ReplicaMetrics {
  const reconnects = meter.createCounter('oddswatch_bus_reconnects', { description: 'Reconnects of the progress bus LISTEN session of this replica.' });
  const changes = meter.createCounter('oddswatch_scheduler_leadership_changes', { description: 'Times this replica became the scheduler leader.' });
  reconnects.add(0);
  changes.add(0);
  return {
    busReconnected: () => reconnects.add(1),
    leadershipTaken: () => changes.add(1),
    observeLeader: (isLeader) =>
      meter
        .createObservableGauge('oddswatch_scheduler_leader', { description: '1 while this replica leads the scheduled jobs, else 0.' })
        .addCallback((result) => result.observe(isLeader() ? 1 : 0)),
  };
}
