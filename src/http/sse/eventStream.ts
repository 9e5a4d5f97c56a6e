import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { StreamEvent } from '../../shared/contract.js';
import type { Metrics, SseDisconnectReason, SseStream } from '../../telemetry/metrics.js';
import type { ProgressBus, ReplayResult, Scope } from '../../events/index.js';
import type { AppEnv } from '../appEnv.js';
import { clientOf } from '../clientAddress.js';
import { isDatabaseUnavailable } from '../../db/pgErrors.js';
import { errorBody } from '../errors.js';
import { parseWith } from '../validation.js';
import { SECURITY_HEADERS } from '../security.js';
import { traceHeaders } from '../traceContext.js';
import type { Fanout } from './fanout.js';
import { STREAM_LIMIT_RETRY_AFTER_SECONDS, type StreamLimits } from './limits.js';
import { eventFrame, retryFrame, SSE_HEADERS } from './frame.js';
import { Subscription } from './subscription.js';

/**
 * The highest cursor of each stream, what the column its ids come from holds: the run stream's ids are
 * run_events.seq (int4); the global stream's are run_events.id (bigserial), handed out as JSON numbers,
 * so exact up to 2^53 - 1. A cursor past them would fail its query (22003: out of range for integer).
 */
export const RUN_STREAM_CURSOR_MAX = 2 ** 31 - 1;
export const GLOBAL_STREAM_CURSOR_MAX = Number.MAX_SAFE_INTEGER;

const cursorSchemas = new Map<number, z.ZodType<number, string>>();
const cursorSchema = (max: number) => {
  let schema = cursorSchemas.get(max);
  if (!schema) {
    const expected = `expected an integer from 0 to ${max}`;
    schema = z
      .string()
      .regex(/^(0|[1-9][0-9]{0,15})$/, expected)
      .transform(Number)
      .refine((cursor) => cursor <= max, expected);
    cursorSchemas.set(max, schema);
  }
  return schema;
};

/**
 * The client's cursor: `Last-Event-ID` header, or `?lastEventId=` for clients that cannot set headers;
 * 400 `invalid_request` when malformed or past `max` (the stream's *_CURSOR_MAX).
 */
export function lastEventId(c: Context<AppEnv>, max: number): number | undefined {
  const header = c.req.header('last-event-id');
  const [name, text] = header === undefined ? ['lastEventId', c.req.query('lastEventId')] : ['Last-Event-ID', header];
  return text === undefined ? undefined : parseWith(z.object({ [name]: cursorSchema(max) }), { [name]: text })[name];
}

export interface SseSettings {
  retryMs: number;
  bufferSize: number;
  writeTimeoutMs: number;
}

export interface EventStreamOptions {
  stream: SseStream;
  scope: Scope;
  /** The SSE id of an event on this stream (run stream: seq; global stream: id). */
  idOf(event: StreamEvent): number;
  /** Persisted events after the client's cursor; subscribed before it is read, so nothing falls in between. */
  replay(): Promise<ReplayResult>;
  /** After writing an event for which this is true, the server ends the stream. */
  endsWith?(event: StreamEvent): boolean;
}

export interface SseDeps {
  bus: ProgressBus;
  metrics: Metrics;
  logger: Logger;
  settings: SseSettings;
  /** Streams open now, so shutdown can end them with reason server_shutdown. */
  open: Set<{ end(reason: SseDisconnectReason): void }>;
  /** True once graceful shutdown began: new streams are refused so clients move to a live replica. */
  draining?(): boolean;
  /** This server's fan-out (batched delivery and heartbeats) and stream limits: one each per server, never shared. */
  fanout: Fanout;
  limits: StreamLimits;
}

/** How soon a client refused by a draining replica should try again (a load balancer has moved it by then). */
export const DRAINING_RETRY_AFTER_SECONDS = 1;

/**
 * One SSE subscription, written straight to the Node response: replay, then live events with no gap
 * and no duplicate. Live frames are encoded once per event and delivered in batches (fanout.ts);
 * a subscriber that cannot keep up is cut as `slow` and never slows anyone else (subscription.ts).
 */
export function eventStream(c: Context<AppEnv>, deps: SseDeps, options: EventStreamOptions): Response {
  // HEAD answers the headers and opens nothing.
  if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
  if (deps.draining?.()) {
    c.header('Connection', 'close'); // the next attempt opens a new connection, which the balancer sends elsewhere
    return c.json(errorBody('shutting_down', 'this replica is shutting down; reconnect to reach a live one'), 503, { 'Retry-After': String(DRAINING_RETRY_AFTER_SECONDS) });
  }
  const response = c.env.outgoing as ServerResponse;
  const { fanout, limits } = deps;

  const client = clientOf(c);
  const refused = limits.tryOpen(client);
  if (refused) {
    deps.metrics.limited(refused);
    const message = refused === 'sse_client' ? 'too many open streams from this address' : 'too many open streams';
    return c.json(errorBody('too_many_streams', message), 429, { 'Retry-After': String(STREAM_LIMIT_RETRY_AFTER_SECONDS) });
  }
  // The subscription watches the Node response and socket for the client going away; the request's
  // AbortSignal is not read, as reading it makes @hono/node-server build an undici Request per stream.
  const subscription = new Subscription(
    response,
    options.stream,
    deps.settings,
    fanout,
    (ended) => {
      deps.open.delete(ended);
      limits.release(client);
    },
    deps.logger,
    deps.metrics,
  );
  // Written to the socket directly: the headers middleware would add afterwards (security, trace id) go in here.
  response.writeHead(200, { ...SECURITY_HEADERS, ...traceHeaders(), ...SSE_HEADERS });
  subscription.write(retryFrame(deps.settings.retryMs));
  subscription.unsubscribe = deps.bus.subscribe(options.scope, subscription.listener(options.idOf, options.endsWith));
  deps.open.add(subscription);
  fanout.add(subscription);
  // A client gone before we listened: its close events have already fired.
  if (response.destroyed || !response.socket || response.socket.destroyed) subscription.end('client_closed');
  if (!subscription.isEnded) void replay(subscription, deps, options);
  // Tells @hono/node-server that this handler writes the response itself.
  return RESPONSE_ALREADY_SENT;
}

async function replay(subscription: Subscription, deps: SseDeps, options: EventStreamOptions): Promise<void> {
  try {
    const result = await options.replay();
    if (result.kind === 'resync') {
      // The client refetches its state over REST; live events after the latest id follow.
      const resync = { id: result.latestId, seq: null, runId: null, type: 'resync', at: new Date().toISOString(), data: { reason: result.reason } } as const;
      if (!(await subscription.replayed(eventFrame(resync as StreamEvent, options.stream, result.latestId), result.latestId))) return;
    } else {
      for (const event of result.events) {
        if (!(await subscription.replayed(eventFrame(event, options.stream, options.idOf(event)), options.idOf(event), options.endsWith?.(event)))) return;
      }
    }
    subscription.goLive();
  } catch (error) {
    // Never send an error's text to the client. A database outage is expected: the client resumes later.
    if (isDatabaseUnavailable(error)) deps.logger.warn({ err: { message: (error as Error).message }, stream: options.stream }, 'SSE replay failed: database unavailable');
    else deps.logger.error({ err: error, stream: options.stream }, 'SSE stream failed');
    subscription.end('client_closed');
  }
}
