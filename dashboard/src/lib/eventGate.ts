import type { StreamEvent } from '@contract';
import { runIdOf } from './runEvents';

/** The de-duplication bookkeeping a store keeps for the stream: highest global id, highest seq per run. */
export interface GateState {
  lastEventId: number;
  lastSeq: Record<number, number>;
}

/**
 * Decides whether an event is new for this consumer and records it.
 * - Stream events (id > 0) are applied at most once: an id at or below the last applied one is a duplicate.
 * - Run events also carry `seq`: per run, a seq at or below the last applied one is a duplicate or out of order.
 * - Local events (id 0, seq null, built from a REST response) always pass; the reducers are monotonic.
 */
export function acceptEvent(gate: GateState, ev: StreamEvent): boolean {
  if (ev.id > 0 && ev.id <= gate.lastEventId) return false;
  const runId = runIdOf(ev);
  if (ev.seq != null && runId != null) {
    if (ev.seq <= (gate.lastSeq[runId] ?? 0)) return false;
    gate.lastSeq[runId] = ev.seq;
  }
  if (ev.id > 0) gate.lastEventId = ev.id;
  return true;
}
