/**
 * Loaded with `node --import ./dist/telemetry/register.js`: registers the ESM loader hook so that
 * instrumentations can patch ES modules (HTTP server, pg), then starts the SDK, all before the
 * application's own modules load.
 */
import { register } from 'node:module';
import { otelDefaults } from '../config.js';
import { startTelemetry } from './sdk.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
Object.assign(process.env, otelDefaults(process.env));
startTelemetry(process.env);
