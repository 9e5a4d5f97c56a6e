import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A feed server that misbehaves on purpose, one behaviour per path: `/{mode}/events?page=N`.
 * - healthy: valid pages (2 pages of 3 events)
 * - hang: accepts the request and never answers
 * - reset: destroys the connection without an answer
 * - error500: HTTP 500; error404, error403, error429 likewise
 * - challenge: 200 with an HTML anti-bot challenge page ("Just a moment...") where JSON was expected
 * - invalid-json: 200 with a body that is no JSON
 * - wrong-shape: 200 with valid JSON of another shape (`{ data: [...] }`)
 * - huge: 200 with a 50 MB chunked body (no Content-Length)
 * - trickle: 200 with one byte a second, forever
 * When `credentials` is set, every mode first requires them (Basic userinfo, a header, an `apikey` query
 * parameter) and answers 401 without them, so a test proves they were sent.
 */
export const HOSTILE_MODES = ['healthy', 'hang', 'reset', 'error500', 'error404', 'error403', 'error429', 'challenge', 'invalid-json', 'wrong-shape', 'huge', 'trickle'] as const;
export type HostileMode = (typeof HOSTILE_MODES)[number];

export interface FeedCredentials {
  user: string;
  password: string;
  apiKey: string;
  header: { name: string; value: string };
}

export interface HostileFeed {
  url: string;
  /** Requests seen per mode, and how many were refused for missing credentials. */
  requests: Map<string, number>;
  refused: number;
  /** Bytes of the huge body actually written before the client gave up. */
  hugeBytesSent: number;
  close(): Promise<void>;
}

export const HUGE_BODY_BYTES = 50 * 1024 * 1024;

export async function startHostileFeed(credentials?: FeedCredentials): Promise<HostileFeed> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const feed: HostileFeed = { url: '', requests: new Map(), refused: 0, hugeBytesSent: 0, close };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://feed.invalid');
    const mode = url.pathname.split('/')[1] ?? '';
    feed.requests.set(mode, (feed.requests.get(mode) ?? 0) + 1);
    if (credentials && !authorised(request, url, credentials)) {
      feed.refused += 1;
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"credentials required"}');
      return;
    }
    const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
    switch (mode as HostileMode) {
      case 'healthy':
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(healthyPage(page)));
        return;
      case 'hang':
        return; // never answered; the socket is destroyed on close()
      case 'reset':
        request.socket.destroy();
        return;
      case 'error500':
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
        return;
      case 'error404':
      case 'error403':
      case 'error429':
        response.writeHead(Number(mode.slice(5)), { 'content-type': 'application/json' }).end('{"error":"no"}');
        return;
      case 'challenge':
        response
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end('<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id="challenge-platform">Checking your browser</div></body></html>');
        return;
      case 'wrong-shape':
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"fixture":"Home v Away","odds":{"1":1.9}}]}');
        return;
      case 'invalid-json':
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"page": 1, "totalPages": 2, "events": [');
        return;
      case 'huge':
        return sendHuge(response);
      case 'trickle': {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{');
        const timer = setInterval(() => response.write(' '), 1_000);
        timers.add(timer);
        response.on('close', () => clearInterval(timer));
        return;
      }
      default:
        response.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function sendHuge(response: http.ServerResponse): void {
    response.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < HUGE_BODY_BYTES && !response.destroyed) {
        sent += chunk.length;
        feed.hugeBytesSent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
      if (!response.destroyed) response.end();
    };
    pump();
  }

  async function close(): Promise<void> {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  feed.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return feed;
}

function authorised(request: http.IncomingMessage, url: URL, credentials: FeedCredentials): boolean {
  const basic = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  return (
    request.headers.authorization === basic &&
    request.headers[credentials.header.name.toLowerCase()] === credentials.header.value &&
    url.searchParams.get('apikey') === credentials.apiKey
  );
}

function healthyPage(page: number) {
  return {
    page,
    totalPages: 2,
    events: Array.from({ length: 3 }, (_, index) => ({
      id: `hostile-${page}-${index}`,
      name: `Home ${page}${index} v Away`,
      markets: [{ name: 'match_result', selections: [{ name: 'home', price: 1.9 }, { name: 'away', price: 2.1 }] }],
    })),
  };
}
