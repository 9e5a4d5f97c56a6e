import http from 'node:http';
import { createParser } from 'eventsource-parser';
import type { StreamEvent } from '../../src/shared/contract.js';
import { waitFor } from './waitFor.js';

export interface ReceivedEvent {
  id: string | undefined;
  event: string | undefined;
  data: StreamEvent;
}

export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: ReceivedEvent[];
  comments: string[];
  retry: number | undefined;
  /** Resolves when the server ends the stream (not when we close it). */
  ended: Promise<void>;
  isEnded(): boolean;
  waitForEvents(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  waitForEvent(predicate: (event: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
  /** Stop reading from the socket (a slow client). */
  pause(): void;
  close(): void;
}

/** A real SSE client on the wire: node's HTTP client and a spec-compliant event-stream parser. */
export function connectSse(url: string, options: { lastEventId?: string | number; headers?: Record<string, string> } = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    const request = http.get(url, { headers, agent: false }, (response) => {
      const events: ReceivedEvent[] = [];
      const comments: string[] = [];
      let ended = false;
      let markEnded: () => void = () => undefined;
      const endedPromise = new Promise<void>((done) => {
        markEnded = done;
      });
      const client: SseClient = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        events,
        comments,
        retry: undefined,
        ended: endedPromise,
        isEnded: () => ended,
        waitForEvents: (count, timeoutMs = 10_000) =>
          waitFor(() => (events.length >= count ? events.slice(0, count) : undefined), { timeoutMs, what: `${count} SSE events (have ${events.length})` }),
        waitForEvent: (predicate, timeoutMs = 10_000) => waitFor(() => events.find(predicate), { timeoutMs, what: 'a matching SSE event' }),
        pause: () => {
          response.pause();
          request.socket?.pause();
        },
        close: () => {
          request.destroy();
          response.destroy();
        },
      };
      const parser = createParser({
        onEvent: (message) => events.push({ id: message.id, event: message.event, data: JSON.parse(message.data) as StreamEvent }),
        onComment: (comment) => comments.push(comment),
        onRetry: (retry) => {
          client.retry = retry;
        },
      });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => parser.feed(chunk));
      response.on('end', () => {
        ended = true;
        markEnded();
      });
      response.on('error', () => undefined);
      resolve(client);
    });
    request.on('error', reject);
  });
}
