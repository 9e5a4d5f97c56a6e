import type { Logger } from 'pino';
import type { StreamEvent } from '../shared/contract.js';
import { InProcessProgressBus, type Listener, type ProgressBus, type Scope } from './progressBus.js';
import { EventListener } from './eventListener.js';

export interface PostgresProgressBusOptions {
  databaseUrl: string;
  replicaId: string;
  logger: Logger;
  onReconnect?: () => void;
  pollIntervalMs?: number;
  checkIntervalMs?: number;
}

/**
 * The progress bus of a replica: every persisted event of every replica reaches this replica's
 * subscribers through one EventListener (a LISTEN session reading rows by id), in increasing id order,
 * once each. `publish` is called by the EventLog after it committed an event here: the listener
 * delivers it at once when it is the next id (no notification round trip, no read; the one-replica
 * case), else reads it in order. Choosing "publish locally and skip delivered ids" over "deliver only
 * via the listener" keeps a lone replica as fast as the in-process bus, and the single delivery path
 * (the listener's last id) keeps the order and the no-duplicate rule across both sources.
 * Subscribers are counted locally (the in-process registry); presence publishes those counts.
 */
export class PostgresProgressBus implements ProgressBus {
  readonly local = new InProcessProgressBus();
  private readonly taps = new Set<Listener>();
  private readonly listener: EventListener;

  constructor(options: PostgresProgressBusOptions) {
    this.listener = new EventListener({
      databaseUrl: options.databaseUrl,
      applicationName: `oddswatch-listener-${options.replicaId}`,
      logger: options.logger,
      afterId: 'latest',
      onReconnect: options.onReconnect,
      pollIntervalMs: options.pollIntervalMs,
      checkIntervalMs: options.checkIntervalMs,
      onEvent: (event) => {
        this.local.publish(event);
        for (const tap of [...this.taps]) tap(event);
      },
    });
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  get lastDeliveredId(): number {
    return this.listener.lastDeliveredId;
  }

  beginPublish(): () => void {
    return this.listener.expectLocal();
  }

  publish(event: StreamEvent): void {
    this.listener.offer(event);
  }

  /** Every event, for the service itself (scheduler.changed): not a subscriber, never counted as a watcher. */
  tap(listener: Listener): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  subscribe(scope: Scope, listener: Listener): () => void {
    return this.local.subscribe(scope, listener);
  }

  watcherCount(runId: number): number {
    return this.local.watcherCount(runId);
  }

  subscriberCount(stream: 'run' | 'global'): number {
    return this.local.subscriberCount(stream);
  }

  onSubscribersChanged(listener: () => void): () => void {
    return this.local.onSubscribersChanged(listener);
  }

  localCounts() {
    return this.local.localCounts();
  }
}
