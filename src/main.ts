/**
 * The composition root: config -> telemetry (already started by register.ts) -> service -> signals.
 */
import { ConfigError, loadConfig } from './config.js';
import { startServer } from './server.js';
import { createLogger } from './telemetry/logger.js';
import { recentTraces, stopTelemetry, telemetryInstanceId, telemetryPipeline } from './telemetry/sdk.js';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`oddswatch: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = createLogger(config.logLevel);
let server;
try {
  server = await startServer(config, { logger, metricsPipeline: telemetryPipeline(), traces: recentTraces(), replicaId: telemetryInstanceId() });
} catch (error) {
  logger.fatal({ err: error }, 'oddswatch could not start');
  await stopTelemetry().catch(() => undefined);
  process.exit(1);
}

let signals = 0;
const shutdown = (signal: NodeJS.Signals) => {
  signals += 1;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(130);
  }
  logger.info({ signal }, 'signal received');
  // Never hang on exit: give the graceful path the run grace plus time for the rest, then leave.
  setTimeout(() => {
    logger.error('graceful shutdown took too long: exiting');
    process.exit(1);
  }, config.shutdownGraceMs + 30_000).unref();
  void server
    .stop()
    .then(() => stopTelemetry())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
