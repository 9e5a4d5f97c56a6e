import type { StreamEvent } from '../../shared/contract.js';
import type { SseStream } from '../../telemetry/metrics.js';

/**
 * The one SSE frame encoder. A progress event is serialised once and its frame bytes are shared by
 * every subscriber of a stream (the run stream's id is `seq`, the global stream's is the global id).
 */
const frames = new WeakMap<StreamEvent, { json: string; run?: Buffer; global?: Buffer }>();

export function eventFrame(event: StreamEvent, stream: SseStream, id: number): Buffer {
  let cached = frames.get(event);
  if (!cached) {
    cached = { json: JSON.stringify(event) };
    frames.set(event, cached);
  }
  return (cached[stream] ??= Buffer.from(`event: ${event.type}\nid: ${id}\ndata: ${cached.json}\n\n`));
}

export const retryFrame = (retryMs: number): Buffer => Buffer.from(`retry: ${retryMs}\n\n`);

export const HEARTBEAT_FRAME = Buffer.from(': ping\n\n');

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;
