import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import type { Platforms } from '../platforms/registry.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { ConnectionGuard } from './connectionGuard.js';
import type { EventLog } from './eventLog.js';
import type { ProgressBus } from './progressBus.js';
import type { RunRepository } from './runRepository.js';

/** A run this process is executing: how to stop it, its span, and when it is done. */
export interface InFlightRun {
  controller: AbortController;
  span: Span;
  done: Promise<void>;
}

/** Everything the run use cases need, built once by the composition root. */
export interface RunEngine {
  config: Config;
  orm: Orm;
  runs: RunRepository;
  events: EventLog;
  bus: ProgressBus;
  guard: ConnectionGuard;
  platforms: Platforms;
  metrics: Metrics;
  logger: Logger;
  /** This process's identity on the runs it owns (start-up recovery tells live owners from dead ones). */
  ownerId: string;
  inFlight: Map<number, InFlightRun>;
  /** Unix seconds of each platform's last successful scrape (freshness gauge). */
  lastSuccess: Map<string, number>;
}
