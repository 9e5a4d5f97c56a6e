import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { afterAll, describe, expect, it } from 'vitest';
import { bypassInstrumentationFor } from '../../src/telemetry/instrumentationBypass.js';
import { isEventStreamPath } from '../../src/telemetry/quietPaths.js';

/**
 * The real HTTP instrumentation, enabled in this test process as the SDK enables it in the service (it wraps
 * http.Server.prototype.emit when `http` is required), with a context manager so that it binds emitters.
 */
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
const hooked: string[] = [];
const instrumentation = new HttpInstrumentation({
  ignoreIncomingRequestHook: (request) => {
    hooked.push(request.url ?? '');
    return true;
  },
});
const http = createRequire(import.meta.url)('node:http') as typeof Http;

afterAll(() => {
  instrumentation.disable();
  context.disable();
});

/** A server answering with whether the instrumentation bound the response emitter (its own `on`). */
async function serverWith(bypass: boolean): Promise<{ get(path: string): Promise<boolean>; close(): Promise<void> }> {
  const server = http.createServer((_request, response) => response.end(JSON.stringify(Object.hasOwn(response, 'on'))));
  if (bypass) bypassInstrumentationFor(server, isEventStreamPath);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get: async (path) => (await (await fetch(`${base}${path}`, { headers: { connection: 'close' } })).json()) as boolean,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('bypassInstrumentationFor', () => {
  it('keeps event-stream requests away from the HTTP instrumentation, and every other request with it', async () => {
    const server = await serverWith(true);
    hooked.length = 0;
    expect(await server.get('/api/events')).toBe(false);
    expect(await server.get('/api/runs/42/events?lastEventId=3')).toBe(false);
    expect(hooked).toEqual([]);
    expect(await server.get('/api/meta')).toBe(true);
    expect(await server.get('/api/events/extra')).toBe(true);
    expect(hooked).toEqual(['/api/meta', '/api/events/extra']);
    await server.close();
  });

  it('without it, the instrumentation sees event-stream requests and binds their responses', async () => {
    const server = await serverWith(false);
    hooked.length = 0;
    expect(await server.get('/api/events')).toBe(true);
    expect(hooked).toEqual(['/api/events']);
    await server.close();
  });
});
