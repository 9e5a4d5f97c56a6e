import type { Logger } from 'pino';
import type { EventPayloads, EventType, StreamEvent } from '../shared/contract.js';
import { retryWrite } from './databaseRetry.js';
import type { EventGuard, EventLog } from '../events/index.js';

type RecordDeps = { events: EventLog; logger: Logger };

/** Retried only while the insert certainly did not happen (see databaseRetry.ts), so an event is never recorded twice. */
const retrying = (deps: RecordDeps, runId: number, type: EventType) => ({
  onRetry: (error: unknown, attempt: number) => deps.logger.warn({ run_id: runId, err: error, attempt, event_type: type }, 'database unreachable; retrying the write'),
});

/** Records a progress event for the runner, repeated through a short database outage. */
export function recordWithRetry<T extends EventType>(deps: RecordDeps, runId: number, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
  return retryWrite(() => deps.events.record(runId, type, data), retrying(deps, runId, type));
}

/** `recordWithRetry` of an event that reports a guarded write in the same statement (EventLog.recordIf). */
export function recordIfWithRetry<T extends EventType>(deps: RecordDeps, runId: number, type: T, data: EventPayloads[T], guard: EventGuard): Promise<StreamEvent | undefined> {
  return retryWrite(() => deps.events.recordIf(runId, type, data, guard), retrying(deps, runId, type));
}
