import type { IncomingMessage } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { secureHeaders } from 'hono/secure-headers';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { AppError } from '../errors.js';
import type { ErrorCode } from '../shared/contract.js';
import type { AppEnv } from './appEnv.js';
import { errorBody } from './errors.js';
import { parseHost } from '../net.js';
import { isAllowedHost } from './hostHeader.js';

/** Methods the service answers; anything else (TRACE, PROPFIND, ...) gets a 405 JSON answer. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Headers on every response. The built dashboard loads one module script and one stylesheet from
 * /assets, its icon is a data: URL, and it talks to its own origin only (fetch and EventSource).
 * Vue sets inline styles through the CSSOM (element.style), which CSP does not restrict.
 * No HSTS: the service speaks plain HTTP; the TLS proxy in front of it decides that.
 */
const setSecurityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
  },
  referrerPolicy: 'no-referrer',
  xFrameOptions: 'DENY',
  strictTransportSecurity: false,
});

const nothingMore = async () => undefined;

/** Set after the handler; not on a response the handler wrote to the socket itself (SSE: SECURITY_HEADERS went with it). */
export const securityHeaders = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  await next();
  if (c.res !== RESPONSE_ALREADY_SENT) await setSecurityHeaders(c, nothingMore);
};

/** The same headers as a record, for responses written straight to the socket (SSE), which no after-`next()` middleware reaches. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = await (async () => {
  const probe = { res: new Response(null) };
  await setSecurityHeaders(probe as never, async () => undefined);
  return Object.fromEntries(probe.res.headers);
})();

/** 405 for methods no route can answer (TRACE and the like), before anything else looks at them. */
export const refuseUnknownMethods = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  if (!KNOWN_METHODS.has(c.req.method)) {
    c.header('Allow', [...KNOWN_METHODS].join(', '));
    return c.json(errorBody('method_not_allowed', `method ${c.req.method.slice(0, 20)} is not allowed`), 405);
  }
  await next();
};

/** Longest a refusal waits for the body it will not read. */
const DISCARD_BODY_MS = 1_000;

/**
 * Reads and drops what is left of a request body before answering without it: a socket closed with unread
 * data resets the connection (Node 24 closes it), and the client then sees ECONNRESET instead of the answer.
 * Bounded in time; a body still coming after that gets `Connection: close`.
 */
export async function discardBody(c: Context<AppEnv>): Promise<void> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || incoming.readableEnded || incoming.complete) return;
  incoming.resume();
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    new Promise<boolean>((resolve) => incoming.once('end', () => resolve(true)).once('error', () => resolve(false))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), DISCARD_BODY_MS))),
  ]);
  clearTimeout(timer);
  if (!ended) c.header('Connection', 'close');
}

/** Load balancers and orchestrators probe by IP or service name; these answer nothing but up/ready. */
const UNCHECKED_HOST_PATHS = new Set(['/healthz', '/readyz']);

/**
 * 421 for a Host the service is not reached by (hostHeader.ts), before any route, the dashboard's files
 * and /metrics included. `names`: ALLOWED_HOSTS and the listen HOST.
 */
export function refuseUnknownHosts(names: readonly string[], onRefused: () => void = () => undefined): MiddlewareHandler<AppEnv> {
  const allowed = names.map(parseHost).filter((host) => host !== undefined);
  return async (c, next) => {
    const host = c.req.header('host');
    if (UNCHECKED_HOST_PATHS.has(c.req.path) || isAllowedHost(host, allowed)) return next();
    onRefused();
    const shown = JSON.stringify((host ?? '').slice(0, 100));
    return c.json(errorBody('unknown_host', `this service does not answer to the host ${shown}: add the name to ALLOWED_HOSTS`), 421);
  };
}

/**
 * Cross-site request refusal for every mutating request, token or not: a page on another origin can
 * make the operator's browser send a plain POST without a preflight. Browsers say where a request
 * comes from (Sec-Fetch-Site, Origin); clients that send neither (curl, scripts) are not browsers
 * acting for someone else, so they pass.
 */
export const refuseCrossSite = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method) && isCrossSite(c)) {
    throw new AppError('cross_site_request', 403, 'cross-site requests may not change anything: use the dashboard on this origin');
  }
  await next();
};

function isCrossSite(c: Context<AppEnv>): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('origin');
  if (origin === undefined) return false;
  try {
    // Host only: a TLS proxy in front changes the scheme the service sees, never the host.
    return new URL(origin).host !== (c.req.header('host') ?? '').toLowerCase();
  } catch {
    return true; // "null" (sandboxed frames, file:) and garbage
  }
}

/** The route pattern a request matched (bounded, never the raw path), or `unmatched`. */
export function routePattern(c: Context<AppEnv>): string {
  const route = matchedRoutes(c).find((candidate) => candidate.method !== 'ALL');
  return route?.path ?? 'unmatched';
}

/**
 * Node's HTTP server closes the socket on CONNECT unless someone listens for it: answer 405 like
 * any other method the service does not serve.
 */
export function answerConnect(server: EventEmitter): void {
  server.on('connect', (_request: unknown, socket: Duplex) => {
    const body = JSON.stringify(errorBody('method_not_allowed', 'method CONNECT is not allowed'));
    socket.on('error', () => undefined);
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Allow: ${[...KNOWN_METHODS].join(', ')}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Node's own answers to what its parser refuses (a request too slow, headers too large); 400 otherwise. */
const CLIENT_ERROR_ANSWERS: Record<string, [number, string, ErrorCode]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request_timeout'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'headers_too_large'],
};

/** How long a connection that sent bytes after its `Connection: close` request may take to get its answer. */
const CLOSING_CONNECTION_MS = 5_000;

/**
 * Node's default answer to a request it cannot parse destroys the socket at once, so a client still sending
 * sees a reset instead of an answer. Here the answer in progress is finished first: bytes after a
 * `Connection: close` request (a body sent without Content-Length or chunked framing) are read and dropped
 * while that request is answered; anything else unparsable gets 400 and a closed connection.
 */
export function answerClientErrors(server: EventEmitter): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex & { _httpMessage?: { headersSent: boolean; writableEnded: boolean } }) => {
    socket.on('error', () => undefined);
    const answering = socket._httpMessage;
    if (error.code === 'HPE_CLOSED_CONNECTION' && answering && !answering.writableEnded) {
      socket.resume();
      setTimeout(() => socket.destroy(), CLOSING_CONNECTION_MS).unref();
      return;
    }
    if (socket.writable && !answering?.headersSent) {
      const [status, reason, code] = CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? [400, 'Bad Request', 'bad_request'];
      const body = JSON.stringify(errorBody(code, reason.toLowerCase()));
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      socket.resume();
      setTimeout(() => socket.destroy(), CLOSING_CONNECTION_MS).unref();
      return;
    }
    socket.destroy();
  });
}
