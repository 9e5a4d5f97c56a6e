import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { StreamEvent } from '../../shared/contract.js';
import type { Metrics, SseDisconnectReason, SseStream } from '../../telemetry/metrics.js';
import type { Fanout, FanoutTarget } from './fanout.js';
import { chunkOf, eventFrame } from './frame.js';

export interface SubscriptionLimits {
  /** Frames a subscriber may have waiting (buffered under backpressure, or live during its replay). */
  bufferSize: number;
  /** How long a subscriber's socket may refuse writes before it is cut as `slow`. */
  writeTimeoutMs: number;
}

/**
 * One subscriber's socket. Frames are written synchronously while the response accepts them; only
 * under backpressure do they wait in a bounded backlog, with a deadline for the next `drain`. Live
 * frames that arrive during the replay wait (bounded too) until the replay is written. Every way it
 * can end (abort, socket close, failed write, slow, shutdown, run finished) ends it exactly once.
 */
export class Subscription implements FanoutTarget {
  private ended = false;
  private live = false;
  private lastId = -1;
  private blocked = false;
  private deadline: NodeJS.Timeout | undefined;
  private readonly backlog: Buffer[] = [];
  private readonly duringReplay: { frame: Buffer; id: number; last: boolean }[] = [];
  private drained: (() => void) | undefined;
  /** Set once the first frame (through the response) has sent the headers: later frames go to it directly. */
  private socket: Socket | undefined;
  private chunked = false;
  unsubscribe: () => void = () => undefined;

  constructor(
    private readonly response: ServerResponse,
    private readonly stream: SseStream,
    private readonly limits: SubscriptionLimits,
    private readonly fanout: Fanout,
    private readonly onEnd: (subscription: Subscription, reason: SseDisconnectReason) => void,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    response.on('drain', this.onDrain);
    response.on('error', this.onClose); // a failed write
    response.once('close', this.onClose);
    response.socket?.once('close', this.onClose);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The bus listener: encode once per event and stream, and queue for chunked delivery. */
  listener(idOf: (event: StreamEvent) => number, endsWith?: (event: StreamEvent) => boolean) {
    return (event: StreamEvent) => {
      if (this.ended) return;
      const id = idOf(event);
      this.fanout.enqueue(this, eventFrame(event, this.stream, id), id, endsWith?.(event) ?? false);
    };
  }

  deliver(frame: Buffer, id?: number, last = false): void {
    if (this.ended) return;
    if (id === undefined) return this.write(frame); // heartbeat
    if (!this.live) {
      if (this.duringReplay.length >= this.limits.bufferSize) return this.cutSlow('buffer full during replay');
      this.duringReplay.push({ frame, id, last });
      return;
    }
    if (id <= this.lastId) return; // already replayed
    this.lastId = id;
    this.write(frame);
    if (last) this.end('run_finished');
  }

  /** Writes one replayed frame, waiting for the socket under backpressure; false once the subscription ended. */
  async replayed(frame: Buffer, id: number, last = false): Promise<boolean> {
    if (this.ended) return false;
    this.lastId = id;
    this.write(frame);
    if (last) this.end('run_finished');
    if (this.blocked && !this.ended) await new Promise<void>((resolve) => (this.drained = resolve));
    return !this.ended;
  }

  /** After the replay: the live frames that arrived meanwhile, then live delivery. */
  goLive(): void {
    this.live = true;
    for (const { frame, id, last } of this.duringReplay.splice(0)) this.deliver(frame, id, last);
  }

  write(frame: Buffer): void {
    if (this.ended) return;
    if (this.blocked) {
      if (this.backlog.length >= this.limits.bufferSize) return this.cutSlow('buffer full');
      this.backlog.push(frame);
      return;
    }
    if (!this.send(frame)) this.block();
  }

  /** Runs `deliveries` with the socket corked: the frames of one fan-out round leave in one write call. */
  together(deliveries: () => void): void {
    const socket = this.socket;
    if (!socket) return deliveries();
    socket.cork();
    try {
      deliveries();
    } finally {
      socket.uncork();
    }
  }

  /**
   * The first frame goes through the response (it sends the headers and says whether the body is
   * chunked); later ones straight to the socket, framed as a chunk when the body is (HTTP/1.1), as the
   * response would, without its cork and next-tick uncork per write. The response's end() then writes
   * the last chunk after them, in order.
   */
  private send(frame: Buffer): boolean {
    if (this.socket) return this.socket.write(this.chunked ? chunkOf(frame) : frame);
    const accepted = this.response.write(frame);
    const socket = this.response.socket;
    if (socket) {
      this.socket = socket;
      this.chunked = this.response.chunkedEncoding;
      socket.on('drain', this.onDrain);
    }
    return accepted;
  }

  end(reason: SseDisconnectReason): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    this.fanout.remove(this);
    clearTimeout(this.deadline);
    this.response.off('drain', this.onDrain);
    this.socket?.off('drain', this.onDrain);
    this.response.off('close', this.onClose);
    this.response.socket?.off('close', this.onClose);
    this.metrics.sseDisconnected(this.stream, reason);
    this.onEnd(this, reason);
    this.drained?.();
    if (reason === 'run_finished' || reason === 'server_shutdown') {
      // A clean end of the chunked body, so clients see the stream end rather than a reset.
      // Node buffers what the socket has not taken yet (bounded by the backlog), then closes.
      for (const frame of this.backlog.splice(0)) this.send(frame);
      this.response.end();
    } else if (!this.response.destroyed) {
      this.response.destroy();
    }
  }

  private block(): void {
    this.blocked = true;
    this.deadline ??= setTimeout(() => this.cutSlow('write deadline passed'), this.limits.writeTimeoutMs);
  }

  private cutSlow(why: string): void {
    if (this.ended) return;
    this.logger.warn({ stream: this.stream, buffered: this.backlog.length, why }, `SSE subscriber too slow: ${why}, disconnecting`);
    this.end('slow');
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    while (this.backlog.length > 0) {
      if (!this.send(this.backlog.shift()!)) return this.block();
    }
    const resume = this.drained;
    this.drained = undefined;
    resume?.();
  };

  private readonly onClose = (): void => this.end('client_closed');
}
