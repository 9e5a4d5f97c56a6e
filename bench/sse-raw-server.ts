/**
 * The baseline of bench/sse-fanout.bench.ts: a minimal node:http server that writes the same events to
 * the same number of text/event-stream responses (each frame serialised once, written to every response).
 * Driven over IPC: { publish: [{ delayMs, type, json }] } answers { published } after the last event.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const responses = new Set<http.ServerResponse>();
let nextId = 1;

const server = http.createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
  response.write('retry: 2000\n\n');
  responses.add(response);
  response.on('close', () => responses.delete(response));
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));

interface Scheduled {
  delayMs: number;
  type: string;
  json: string;
}

process.on('message', (message: { publish?: Scheduled[]; count?: boolean }) => {
  if (message.count) return process.send!({ subscribers: responses.size });
  const events = message.publish;
  if (!events) return;
  const started = Date.now();
  let index = 0;
  const next = () => {
    const event = events[index]!;
    const id = nextId++;
    // `at` is when the event was due in the captured run's schedule, not when this loop got to it: an event
    // due while the previous one is still being written waits, and that wait is delivery delay too (the
    // service's `at` is its commit time, so its own queueing counts). Stamping at write time hid it.
    const json = event.json
      .replace('"at":"AT"', `"at":"${new Date(started + event.delayMs).toISOString()}","writtenAt":"${new Date().toISOString()}"`)
      .replace('"id":0', `"id":${id}`);
    const frame = Buffer.from(`event: ${event.type}\nid: ${id}\ndata: ${json}\n\n`);
    for (const response of responses) response.write(frame);
    index += 1;
    if (index === events.length) return process.send!({ published: events.length });
    setTimeout(next, Math.max(0, started + events[index]!.delayMs - Date.now()));
  };
  setTimeout(next, events[0]!.delayMs);
});
