import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { recordFault } from './report.js';

/**
 * Property-based fuzzing of every route in the README's API table over raw HTTP: any method (CONNECT,
 * TRACE and made-up ones included), path parameters, query strings, headers (Last-Event-ID, content
 * types, Origin), bodies (JSON shapes, garbage, oversized, chunked). Every request is answered, never
 * with a 5xx or a stack trace. FUZZ_SEED=<n> replays a failing run; FUZZ_RUNS sets the count.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const ANSWER_TIMEOUT_MS = 10_000;

const ROUTES = [
  '/api/runs',
  '/api/runs/:id',
  '/api/runs/active',
  '/api/runs/:id/events',
  '/api/events',
  '/api/platforms',
  '/api/scheduler',
  '/api/scheduler/pause',
  '/api/scheduler/resume',
  '/api/scheduler/jobs/:id',
  '/api/scheduler/jobs/:id/run',
  '/api/meta',
  '/healthz',
  '/readyz',
  '/metrics',
  '/',
  '/runs/:id',
  '/assets/:id',
  '/api/:id',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'PURGE', 'SEARCH', 'LOCK'];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', '', 'garbage/'];

const segment = fc.oneof(
  fc.constantFrom('1', '2', '0', '-1', '1.5', '9007199254740993', '99999999999999999999', 'abc', 'scrape_all_platforms', 'detect_stale_runs', 'prune_run_events', '..', '%2e%2e', '%00', 'active', ''),
  fc.string({ maxLength: 30 }).map((text) => encodeURIComponent(text)),
  fc.nat().map(String),
);
const queryValue = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constantFrom('running,completed', 'api,schedule', 'nope', '101', '0', '-5', ''));
const query = fc.dictionary(fc.constantFrom('status', 'trigger', 'limit', 'cursor', 'platforms', 'observe', 'x', '__proto__'), queryValue, { maxKeys: 4 });
const jsonShape = fc.oneof(
  fc.record({
    platforms: fc.option(fc.oneof(fc.array(fc.constantFrom('northwind', 'redfox', 'bluepeak', 'nope', ''), { maxLength: 8 }), fc.jsonValue()), { nil: undefined }),
    observe: fc.option(fc.oneof(fc.boolean(), fc.jsonValue()), { nil: undefined }),
    retryOf: fc.option(fc.oneof(fc.integer(), fc.jsonValue()), { nil: undefined }),
    intervalSeconds: fc.option(fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.jsonValue()), { nil: undefined }),
  }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 4 }),
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: jsonShape.map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"platforms":', '\u0000\u0001', '[]', 'null', '{"__proto__":{"x":1}}') },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((size) => `{"platforms":["${'a'.repeat(size)}"]}`) },
);
const request = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET', 'POST') }, { weight: 4, arbitrary: fc.constantFrom(...METHODS) }),
  route: fc.constantFrom(...ROUTES),
  ids: fc.array(segment, { minLength: 1, maxLength: 1 }),
  query,
  contentType: fc.constantFrom(...CONTENT_TYPES),
  lastEventId: fc.option(fc.oneof(fc.nat().map(String), fc.constantFrom('-1', 'abc', '1e3', '99999999999999999999999', ' 5 ', '0x10')), { nil: undefined }),
  origin: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('http://evil.example', 'null') }),
  body,
  chunked: fc.boolean(),
});
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

interface Answer {
  status: number;
  contentType: string;
  body: string;
  ms: number;
}

/** Sends one request over a fresh connection; SSE answers are read to their headers, then dropped. */
function send(base: URL, input: FuzzRequest): Promise<Answer> {
  const pathname = input.route.replace(':id', input.ids[0] ?? '1');
  const search = new URLSearchParams(input.query).toString();
  const headers: Record<string, string> = { connection: 'close' };
  if (input.contentType) headers['content-type'] = input.contentType;
  if (input.lastEventId !== undefined) headers['last-event-id'] = input.lastEventId;
  if (input.origin) headers.origin = input.origin;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method: input.method, path: `${pathname}${search ? `?${search}` : ''}`, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    const done = (answer: Omit<Answer, 'ms'>) => {
      clearTimeout(timer);
      resolve({ ...answer, ms: performance.now() - started });
    };
    req.on('connect', (response, socket, head) => {
      socket.destroy();
      done({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type'] ?? ''), body: head.toString('utf8') });
    });
    req.on('response', (response) => {
      const contentType = String(response.headers['content-type'] ?? '');
      if (contentType.startsWith('text/event-stream')) {
        response.destroy();
        return done({ status: response.statusCode ?? 0, contentType, body: '' });
      }
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (text.length < 1_000_000) text += chunk;
      });
      response.on('end', () => done({ status: response.statusCode ?? 0, contentType, body: text }));
      response.on('error', () => done({ status: response.statusCode ?? 0, contentType, body: text }));
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (input.body !== undefined && input.method !== 'GET' && input.method !== 'HEAD' && input.method !== 'CONNECT') {
      if (input.chunked) {
        // No Content-Length: Node sends Transfer-Encoding: chunked, here in three pieces.
        const third = Math.ceil(input.body.length / 3);
        req.write(input.body.slice(0, third));
        req.write(input.body.slice(third, 2 * third));
        req.end(input.body.slice(2 * third));
        return;
      }
      req.setHeader('content-length', Buffer.byteLength(input.body));
      req.end(input.body);
      return;
    }
    req.end();
  });
}

const STACK = /\n\s+at [^\n]+:\d+:\d+|\bat (async )?[\w.<>]+ \([^)]*:\d+:\d+\)|node:internal|\/src\/|\.ts:\d+/;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONNECTION_GRACE_MS: '300' });
});
afterAll(async () => server?.close());

describe('API fuzzing', () => {
  it(`answers ${RUNS} generated requests without a 5xx or a stack trace (seed printed on failure)`, async () => {
    const base = new URL(server.url);
    const statuses = new Map<number, number>();
    let slowest = 0;
    let sent = 0;
    try {
      await fc.assert(
        fc.asyncProperty(request, async (input) => {
          const answer = await send(base, input);
          sent += 1;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          slowest = Math.max(slowest, answer.ms);
          const what = `${input.method} ${input.route} -> ${answer.status} ${answer.body.slice(0, 200)}`;
          expect(answer.status, what).toBeGreaterThanOrEqual(100);
          expect(answer.status, what).toBeLessThan(500);
          expect(STACK.test(answer.body), what).toBe(false);
          if (answer.status >= 400 && answer.body && input.method !== 'HEAD' && answer.contentType.includes('json')) {
            expect(JSON.parse(answer.body), what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    } catch (error) {
      throw new Error(`API fuzzing failed with FUZZ_SEED=${SEED} (replay: FUZZ_SEED=${SEED} npx vitest run --project faults tests/faults/apiFuzz.test.ts)\n${(error as Error).message}`, { cause: error });
    }
    expect(sent).toBeGreaterThanOrEqual(2_000);
    const unhandled = server.logs.filter((line) => line.msg === 'unhandled error');
    expect(unhandled).toEqual([]);
    recordFault({
      name: 'API fuzzing (fast-check, raw HTTP)',
      endState: `${sent} requests answered, no 5xx, no stack trace, no unhandled error logged`,
      figure: {
        requests: sent,
        seed: SEED,
        slowest_answer_ms: Math.round(slowest),
        statuses: [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}:${count}`).join(' '),
      },
    });
  });
});
