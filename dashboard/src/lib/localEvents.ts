/**
 * Events built from REST responses so that local changes go through the same `applyEvent` path as the stream.
 * They have id 0 and no seq: never de-duplicated, always applied through the monotonic reducers.
 */
import type { RunDetail, SchedulerState, StreamEvent, TerminalRunStatus } from '@contract';

export function localRunEvent(run: RunDetail): Extract<StreamEvent, { type: 'run.created' }> {
  return {
    id: 0,
    seq: null,
    runId: run.id,
    type: 'run.created',
    at: new Date().toISOString(),
    data: { runId: run.id, platformsDone: run.platformsDone, platformsTotal: run.platformsTotal, run },
  };
}

/** A run this tab just ended (cancelled): its final state at once, before the stream's own `run.finished` (same reducer). */
export function localRunFinishedEvent(run: RunDetail & { status: TerminalRunStatus }): Extract<StreamEvent, { type: 'run.finished' }> {
  return {
    id: 0,
    seq: null,
    runId: run.id,
    type: 'run.finished',
    at: new Date().toISOString(),
    data: { runId: run.id, platformsDone: run.platformsDone, platformsTotal: run.platformsTotal, run, status: run.status, failureReason: run.failureReason },
  };
}

export function localSchedulerEvent(scheduler: SchedulerState): Extract<StreamEvent, { type: 'scheduler.changed' }> {
  return { id: 0, seq: null, runId: null, type: 'scheduler.changed', at: new Date().toISOString(), data: { scheduler } };
}
