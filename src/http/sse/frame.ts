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

const chunks = new WeakMap<Buffer, Buffer>();

/**
 * `frame` as one HTTP/1.1 chunk (`<size in hex>\r\n<frame>\r\n`), built once per frame: subscribers
 * write it to their socket in one call, without the response's per-write chunk framing (three buffers
 * and a cork per write, per subscriber).
 */
export function chunkOf(frame: Buffer): Buffer {
  let chunk = chunks.get(frame);
  if (!chunk) chunks.set(frame, (chunk = Buffer.concat([Buffer.from(`${frame.length.toString(16)}\r\n`, 'latin1'), frame, CRLF])));
  return chunk;
}
const CRLF = Buffer.from('\r\n', 'latin1');

export const retryFrame = (retryMs: number): Buffer => Buffer.from(`retry: ${retryMs}\n\n`);

export const HEARTBEAT_FRAME = Buffer.from(': ping\n\n');

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;
