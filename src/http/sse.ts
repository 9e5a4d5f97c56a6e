import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { StreamEvent } from '../shared/contract.js';
import type { Metrics, SseDisconnectReason, SseStream } from '../telemetry/metrics.js';
import type { ReplayResult } from '../runs/eventLog.js';
import type { ProgressBus, Scope } from '../runs/progressBus.js';
import type { AppEnv } from './appEnv.js';
import { parseWith } from './errors.js';

const cursorSchema = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'Last-Event-ID must be a non-negative integer').transform(Number);

/** The client's cursor: `Last-Event-ID` header, or `?lastEventId=` for clients that cannot set headers (400 when malformed). */
export function lastEventId(c: Context<AppEnv>): number | undefined {
  const text = c.req.header('last-event-id') ?? c.req.query('lastEventId');
  return text === undefined ? undefined : parseWith(cursorSchema, text);
}

export interface SseSettings {
  heartbeatMs: number;
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
}

/**
 * One SSE subscription: replay, then live events with no gap and no duplicate. A bounded buffer per
 * subscriber and a write deadline mean a slow reader is cut (`slow`) and never slows anyone else.
 * Whatever signal comes first (abort, socket close, failed write) ends the subscription exactly once.
 */
export function eventStream(c: Context<AppEnv>, deps: SseDeps, options: EventStreamOptions): Response {
  const response = streamSSE(c, (stream) => pump(c, stream, deps, options));
  response.headers.set('Cache-Control', 'no-cache, no-transform');
  response.headers.set('X-Accel-Buffering', 'no');
  return response;
}

async function pump(c: Context<AppEnv>, stream: SSEStreamingApi, deps: SseDeps, options: EventStreamOptions): Promise<void> {
  const queue: StreamEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let heartbeat: NodeJS.Timeout | undefined;
  const socket = c.env?.incoming?.socket;

  const subscription = {
    end(reason: SseDisconnectReason) {
      if (ended) return;
      ended = true;
      unsubscribe();
      deps.open.delete(subscription);
      clearInterval(heartbeat);
      socket?.off('close', onSocketClose);
      deps.metrics.sseDisconnected(options.stream, reason);
      wake?.();
      if (reason === 'slow' || reason === 'server_shutdown') socket?.destroy();
    },
  };
  const onSocketClose = () => subscription.end('client_closed');

  const unsubscribe = deps.bus.subscribe(options.scope, (event) => {
    if (ended) return;
    if (queue.length >= deps.settings.bufferSize) {
      deps.logger.warn({ stream: options.stream, buffered: queue.length }, 'SSE subscriber too slow: buffer full, disconnecting');
      subscription.end('slow');
      return;
    }
    queue.push(event);
    wake?.();
  });
  deps.open.add(subscription);
  stream.onAbort(() => subscription.end('client_closed'));
  c.req.raw.signal.addEventListener('abort', () => subscription.end('client_closed'), { once: true });
  socket?.once('close', onSocketClose);

  const write = async (text: string): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      stream.write(text).then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deps.settings.writeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      deps.logger.warn({ stream: options.stream }, 'SSE subscriber too slow: write deadline passed, disconnecting');
      subscription.end('slow');
    }
    if (outcome === 'failed') subscription.end('client_closed');
    return outcome === 'ok' && !ended;
  };
  const format = (event: StreamEvent) => `event: ${event.type}\nid: ${options.idOf(event)}\ndata: ${JSON.stringify(event)}\n\n`;

  try {
    if (!(await write(`retry: ${deps.settings.retryMs}\n\n`))) return;
    heartbeat = setInterval(() => void write(': ping\n\n'), deps.settings.heartbeatMs);
    heartbeat.unref();

    let lastId = -1;
    const replay = await options.replay();
    if (replay.kind === 'resync') {
      // The client refetches its state over REST; live events after the latest id follow.
      const resync = { id: replay.latestId, seq: null, runId: null, type: 'resync', at: new Date().toISOString(), data: { reason: replay.reason } } as const;
      if (!(await write(`event: resync\nid: ${replay.latestId}\ndata: ${JSON.stringify(resync)}\n\n`))) return;
      lastId = replay.latestId;
    } else {
      for (const event of replay.events) {
        if (!(await write(format(event)))) return;
        lastId = options.idOf(event);
        if (options.endsWith?.(event)) return subscription.end('run_finished');
      }
    }

    while (!ended) {
      const event = queue.shift();
      if (!event) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      const id = options.idOf(event);
      if (id <= lastId) continue; // already replayed
      if (!(await write(format(event)))) return;
      lastId = id;
      if (options.endsWith?.(event)) return subscription.end('run_finished');
    }
  } catch (error) {
    // Errors inside a stream never reach onError: log here, and never send their text to the client.
    deps.logger.error({ err: error, stream: options.stream }, 'SSE stream failed');
    subscription.end('client_closed');
  } finally {
    subscription.end('client_closed'); // no-op when already ended
  }
}
