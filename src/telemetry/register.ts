/**
 * Loaded with `node --import ./dist/telemetry/register.js`: registers the ESM loader hook so that
 * instrumentations can patch ES modules (HTTP server, pg), then starts the SDK, all before the
 * application's own modules load.
 *
 * The hook intercepts only the modules an instrumentation hooks (import-in-the-middle's message
 * channel), not every module the service imports: wrapping all of them cost start-up time, and once
 * in 81 test files a wrapped CommonJS module (@mikro-orm/core) failed to link ("does not provide an
 * export named 'default'").
 */
import { enableCompileCache, register } from 'node:module';

// Every module loaded from here on keeps its compiled code on disk (NODE_COMPILE_CACHE, else a directory in
// the OS's temporary one): a restart loads the service faster. Hence the dynamic imports below.
enableCompileCache();
const { createAddHookMessageChannel } = await import('import-in-the-middle');
const { otelDefaults } = await import('../config.js');
const { startTelemetry } = await import('./sdk.js');

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
Object.assign(process.env, otelDefaults(process.env));
startTelemetry(process.env);
await waitForAllMessagesAcknowledged();
