import type { StreamEvent } from '../shared/contract.js';

/**
 * Publish/subscribe of persisted progress events, per run and globally. The service runs the PostgreSQL
 * bus (src/events/postgresProgressBus.ts), which uses the in-process implementation below as its
 * local fan-out: the registry of this replica's subscribers.
 * A subscriber callback must not block: an SSE subscription only queues the event for batched delivery
 * (src/http/sse/fanout.ts), so publishing returns at once however many subscribers there are.
 */
export type Listener = (event: StreamEvent) => void;
export type Scope = { runId: number } | 'global';

export interface ProgressBus {
  /** Called before an event is written; the returned function once the write returned, just before `publish`. */
  beginPublish?(): () => void;
  publish(event: StreamEvent): void;
  /** Returns an idempotent unsubscribe. */
  subscribe(scope: Scope, listener: Listener): () => void;
  /** Who watches a run: its run-stream subscribers plus every global-stream subscriber. */
  watcherCount(runId: number): number;
  subscriberCount(stream: 'run' | 'global'): number;
  /** Called whenever a subscription starts or ends. */
  onSubscribersChanged(listener: () => void): () => void;
}

export class InProcessProgressBus implements ProgressBus {
  private readonly runListeners = new Map<number, Set<Listener>>();
  private readonly globalListeners = new Set<Listener>();
  private readonly changeListeners = new Set<() => void>();
  private runSubscriberTotal = 0;

  publish(event: StreamEvent): void {
    if (event.runId !== null) {
      for (const listener of [...(this.runListeners.get(event.runId) ?? [])]) listener(event);
    }
    for (const listener of [...this.globalListeners]) listener(event);
  }

  subscribe(scope: Scope, listener: Listener): () => void {
    // Each subscription gets its own wrapper, so the same function subscribed twice counts twice.
    const entry: Listener = (event) => listener(event);
    if (scope === 'global') {
      this.globalListeners.add(entry);
    } else {
      const set = this.runListeners.get(scope.runId) ?? new Set<Listener>();
      set.add(entry);
      this.runListeners.set(scope.runId, set);
      this.runSubscriberTotal += 1;
    }
    this.changed();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      if (scope === 'global') {
        this.globalListeners.delete(entry);
      } else {
        const set = this.runListeners.get(scope.runId);
        set?.delete(entry);
        if (set?.size === 0) this.runListeners.delete(scope.runId);
        this.runSubscriberTotal -= 1;
      }
      this.changed();
    };
  }

  watcherCount(runId: number): number {
    return (this.runListeners.get(runId)?.size ?? 0) + this.globalListeners.size;
  }

  subscriberCount(stream: 'run' | 'global'): number {
    return stream === 'global' ? this.globalListeners.size : this.runSubscriberTotal;
  }

  /** Global-stream subscribers and run-stream subscribers per run (what presence publishes). */
  localCounts(): { global: number; runs: ReadonlyMap<number, number> } {
    return { global: this.globalListeners.size, runs: new Map([...this.runListeners].map(([runId, set]) => [runId, set.size])) };
  }

  onSubscribersChanged(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }
}
