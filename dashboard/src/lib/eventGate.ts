import type { StreamEvent } from '@contract';
import { runIdOf } from './runEvents';

/**
 * The one de-duplication gate of the tab, where stream events enter (useLiveSync). It also holds the stream
 * position (`lastEventId`) the EventSource resumes from: the highest global id let through.
 * - Stream events (id > 0) pass at most once: an id at or below the last one is a duplicate (a replay).
 * - Run events also carry `seq`: per run, a seq at or below the last one is a duplicate or out of order.
 * - Local events (id 0, seq null, built from a REST response) always pass; the reducers are idempotent.
 */
export interface EventGate {
  accept(ev: StreamEvent): boolean;
  /** The stream position to resume from; null before the first event. */
  lastEventId(): number | null;
  /** After a `resync`: start again from the position it names (null: from "now"), forgetting what was seen. */
  reset(lastEventId: number | null): void;
}

export function createEventGate(): EventGate {
  let last: number | null = null;
  let lastSeq = new Map<number, number>();
  return {
    accept(ev) {
      if (ev.id > 0 && last != null && ev.id <= last) return false;
      const runId = runIdOf(ev);
      if (ev.seq != null && runId != null) {
        if (ev.seq <= (lastSeq.get(runId) ?? 0)) return false;
        lastSeq.set(runId, ev.seq);
      }
      if (ev.id > 0) last = ev.id;
      return true;
    },
    lastEventId: () => last,
    reset(position) {
      last = position;
      lastSeq = new Map();
    },
  };
}
