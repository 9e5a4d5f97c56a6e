import type { StreamEvent } from '@contract';
import { useActiveRunStore } from './activeRun';
import { useOddsStore } from './odds';
import { usePlatformsStore } from './platforms';
import { useRunsStore } from './runs';
import { useSchedulerStore } from './scheduler';
import { useTrendsStore } from './trends';

interface EventApplier {
  store: string;
  use: () => { applyEvent(ev: StreamEvent): void };
  /** Stores that must have applied the same event first, and why. */
  after?: { store: string; because: string }[];
}

/**
 * The stores that take events (streamed, already de-duplicated, and local ones), in the order each event is
 * applied to them: a store comes after every store it reads.
 */
export const EVENT_APPLIERS: readonly EventApplier[] = [
  { store: 'runs', use: useRunsStore },
  {
    store: 'activeRun',
    use: useActiveRunStore,
    after: [{ store: 'runs', because: 'the run it shows is the one copy the runs store holds, which must already have taken the event' }],
  },
  { store: 'scheduler', use: useSchedulerStore },
  { store: 'platforms', use: usePlatformsStore },
  { store: 'trends', use: useTrendsStore },
  { store: 'odds', use: useOddsStore },
];

/** Applies an event to every store, in EVENT_APPLIERS' order (stores of the active Pinia). */
export function useEventAppliers(): (ev: StreamEvent) => void {
  const stores = EVENT_APPLIERS.map((applier) => applier.use());
  return (ev) => {
    for (const store of stores) store.applyEvent(ev);
  };
}
