import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx, type NginxFront } from '../helpers/nginxFront.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Debian's nginx running the shipped deploy/nginx/oddswatch.conf (upstreams, port and read timeout
 * templated) in front of two node:http SSE servers standing in for two replicas.
 */
const READ_TIMEOUT_S = 1; // templated down from 75 s so that "idle past the timeout" fits in a test
const HEARTBEAT_MS = 300;

interface Replica {
  name: string;
  server: http.Server;
  streams: Set<http.ServerResponse>;
}

let front: NginxFront | undefined;
let port: number;
const replicas: Replica[] = [];

function startReplica(name: string): Promise<Replica> {
  const streams = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/api/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`: replica ${name}\n\n`);
      streams.add(res);
      const beat = req.url.includes('silent') ? undefined : setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
      res.on('close', () => {
        clearInterval(beat);
        streams.delete(res);
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ replica: name }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ name, server, streams })));
}

interface Stream {
  replica: string;
  chunks: { at: number; text: string }[];
  ended: boolean;
  headers: http.IncomingHttpHeaders;
  close(): void;
}

function openStream(pathname: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, agent: false, headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' } }, (res) => {
      const stream: Stream = { replica: '', chunks: [], ended: false, headers: res.headers, close: () => req.destroy() };
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        stream.chunks.push({ at: performance.now(), text });
        stream.replica ||= /: replica (\w+)/.exec(text)?.[1] ?? '';
      });
      res.on('close', () => (stream.ended = true));
      resolve(stream);
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  replicas.push(await startReplica('a'), await startReplica('b'));
  front = await startNginx(
    replicas.map((r) => `127.0.0.1:${(r.server.address() as AddressInfo).port}`),
    { readTimeoutSeconds: READ_TIMEOUT_S },
  );
  port = Number(new URL(front.url).port);
});

afterAll(async () => {
  await front?.stop();
  for (const replica of replicas) {
    for (const res of replica.streams) res.destroy();
    await new Promise((resolve) => replica.server.close(resolve));
  }
});

describe('nginx in front of two replicas, configured for SSE', () => {
  it('streams each event through at once (no proxy buffering, no gzip) and spreads streams over both replicas', async () => {
    const first = await openStream('/api/events');
    const second = await openStream('/api/events');
    await waitFor(() => first.replica && second.replica, { what: 'both streams opened' });
    expect(new Set([first.replica, second.replica])).toEqual(new Set(['a', 'b'])); // least_conn
    expect(first.headers['content-encoding']).toBeUndefined();
    expect(first.headers['content-type']).toBe('text/event-stream');

    const delays: number[] = [];
    for (const stream of [first, second]) {
      const replica = replicas.find((r) => r.name === stream.replica)!;
      for (let i = 0; i < 5; i++) {
        const writtenAt = performance.now();
        for (const res of replica.streams) res.write(`id: ${i}\nevent: run.progress\ndata: {"i":${i}}\n\n`);
        const chunk = await waitFor(() => stream.chunks.find((c) => c.at >= writtenAt && c.text.includes(`id: ${i}\n`)), { timeoutMs: 2_000, intervalMs: 2, what: `event ${i}` });
        delays.push(chunk.at - writtenAt);
      }
    }
    console.log(`nginx SSE pass-through: max ${Math.max(...delays).toFixed(1)} ms over ${delays.length} events`);
    expect(Math.max(...delays)).toBeLessThan(200);
    first.close();
    second.close();
  });

  it('keeps an idle stream with heartbeats open past the read timeout, and closes one without heartbeats', async () => {
    const beating = await openStream('/api/events');
    const silent = await openStream('/api/events?silent');
    const openedAt = performance.now();
    await waitFor(() => silent.ended, { timeoutMs: READ_TIMEOUT_S * 1_000 + 3_000, what: 'nginx to close the silent stream' });
    await waitFor(() => performance.now() - openedAt > READ_TIMEOUT_S * 3_000, { timeoutMs: READ_TIMEOUT_S * 3_000 + 1_000, intervalMs: 100, what: 'three read timeouts' });
    expect(beating.ended).toBe(false);
    expect(beating.chunks.filter((c) => c.text.includes(': ping')).length).toBeGreaterThanOrEqual(5);
    beating.close();
  });
});
