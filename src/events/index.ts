/**
 * The face of progress events: what the run engine, the replica coordination, live state, the HTTP side
 * and the composition root use. Modules outside src/events/ import only from here (tests/unit/layers.test.ts).
 */
export type { EventGuard, StepFinishedGuard, StepStartedGuard, VolumeCriteria } from './eventGuard.js';
export { EventLog, type ReplayResult } from './eventLog.js';
export { InProcessProgressBus, type Listener, type ProgressBus, type Scope } from './progressBus.js';
export { PostgresProgressBus, type PostgresProgressBusOptions } from './postgresProgressBus.js';
