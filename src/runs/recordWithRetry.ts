import type { Logger } from 'pino';
import type { EventPayloads, EventType, StreamEvent } from '../shared/contract.js';
import { retryWrite } from './databaseRetry.js';
import type { EventGuard } from '../replicas/eventPublisher.js';
import type { EventLog } from './eventLog.js';

/**
 * Records a progress event for the runner, repeated through a short database outage (only while the
 * insert certainly did not happen, see databaseRetry.ts, so an event is never recorded twice).
 */
export function record<T extends EventType>(deps: { events: EventLog; logger: Logger }, runId: number, type: T, data: EventPayloads[T]): Promise<StreamEvent> {
  return retryWrite(() => deps.events.record(runId, type, data), {
    onRetry: (error, attempt) => deps.logger.warn({ run_id: runId, err: error, attempt, event_type: type }, 'database unreachable; retrying the write'),
  });
}

/** `record` of an event that reports a guarded write in the same statement (EventLog.recordIf). */
export function recordIf<T extends EventType>(
  deps: { events: EventLog; logger: Logger },
  runId: number,
  type: T,
  data: EventPayloads[T],
  guard: EventGuard,
): Promise<StreamEvent | undefined> {
  return retryWrite(() => deps.events.recordIf(runId, type, data, guard), {
    onRetry: (error, attempt) => deps.logger.warn({ run_id: runId, err: error, attempt, event_type: type }, 'database unreachable; retrying the write'),
  });
}
