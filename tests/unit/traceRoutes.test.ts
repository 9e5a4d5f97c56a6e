import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/appEnv.js';
import { onError } from '../../src/http/errors.js';
import { createTraceRoutes } from '../../src/http/routes/traces.js';
import type { ApiErrorBody, TraceDetail } from '../../src/shared/contract.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function app(traces: { trace(traceId: string): TraceDetail | undefined } | undefined) {
  return new Hono<AppEnv>().onError(onError(pino({ level: 'silent' }))).route('/api/traces', createTraceRoutes({ traces }));
}

/** GET /api/traces/:traceId tells the dashboard why it has no trace, so the trace view can say it plainly. */
describe('GET /api/traces/:traceId without the trace', () => {
  it('a trace this process no longer holds (older than its last runs, another replica\'s, or from before a restart): reason not_held', async () => {
    const response = await app({ trace: () => undefined }).request(`/api/traces/${TRACE_ID}`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as ApiErrorBody;
    expect(body.error).toMatchObject({ code: 'trace_not_found', details: { reason: 'not_held' } });
    expect(body.error.message).toContain('restarts');
  });

  it('a service that exports its traces holds none: reason exported', async () => {
    const response = await app(undefined).request(`/api/traces/${TRACE_ID}`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ApiErrorBody).error).toMatchObject({ code: 'trace_not_found', details: { reason: 'exported' } });
  });
});
