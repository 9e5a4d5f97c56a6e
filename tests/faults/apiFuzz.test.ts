import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * Property-based fuzzing of every route in the README's API table over raw HTTP: any method (CONNECT,
 * TRACE and made-up ones included), path parameters, query strings, headers (Last-Event-ID, content
 * types, Origin), bodies (JSON shapes, garbage, oversized, chunked). Every request is answered, never
 * with a 5xx or a stack trace. A second property aims at every integer the API reads (route ids,
 * Last-Event-ID and ?lastEventId= on both streams, limit, page tokens, retryOf, intervalSeconds) with the
 * edges of int4, int8 and JavaScript's safe integers, on a finished and a running run. FUZZ_SEED=<n>
 * replays a failing run; FUZZ_RUNS and FUZZ_INTEGER_RUNS set the counts.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const INTEGER_RUNS = Number(process.env.FUZZ_INTEGER_RUNS ?? 1_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const ANSWER_TIMEOUT_MS = 10_000;

const ROUTES = [
  '/api/runs',
  '/api/runs/:id',
  '/api/runs/active',
  '/api/runs/:id/events',
  '/api/runs/:id/steps/:platform/capture',
  '/api/runs/:id/steps/:platform/capture/screenshot',
  '/api/events',
  '/api/platforms',
  '/api/scheduler',
  '/api/scheduler/pause',
  '/api/scheduler/resume',
  '/api/scheduler/jobs/:id',
  '/api/scheduler/jobs/:id/run',
  '/api/odds',
  '/api/runs/history',
  '/api/platforms/:id/history',
  '/api/traces/:id',
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

/**
 * Integers as clients may write them, at the edges of what a column holds: int4 (run_events.seq), int8
 * (bigserial ids), JavaScript's safe integers (ids handed out as JSON numbers), beyond them, and forms a
 * lenient parser would take (leading zeros, a sign, an exponent, a fraction, hex, blanks).
 */
const INTEGER_EDGES = [
  '0', '1', '-1', '-0', '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '9223372036854775807', '9223372036854775808',
  '-9223372036854775809', '18446744073709551616', '9'.repeat(40), '1'.repeat(400), '007', '00', '0002147483648', '+1', '+2147483648',
  '1e3', '1E3', '2e9', '1e400', '1.0', '1.5', '2147483647.5', '0x10', '0b1', ' 1', '1 ', 'Infinity', 'NaN', '',
];
const integerText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INTEGER_EDGES) },
  { weight: 1, arbitrary: fc.nat().map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 31 - 3, max: 2 ** 31 + 3 }).map(String) },
  { weight: 1, arbitrary: fc.stringMatching(/^[+-]?0{0,3}[0-9]{1,25}(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?$/) },
);
/** An integer as a JSON number (raw text: 1e400, 9223372036854775808 and friends survive as written). */
const jsonInteger = fc.oneof(
  fc.constantFrom('0', '-1', '-0', '1', '10', '2147483647', '2147483648', '9007199254740991', '9007199254740993', '9223372036854775808', '1e3', '1e400', '1.5', '10.0', '-1e400'),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
/** GET /api/runs page tokens: the API's own form (base64url of r:<id>) around integer edges, and garbage. */
const pageToken = fc.oneof(integerText.map((id) => Buffer.from(`r:${id}`).toString('base64url')), fc.string({ maxLength: 20 }));
/** Runs that exist (made in beforeAll), resolved when sending: their streams and cursors reach the database. */
const FINISHED_RUN = '{finished}';
const RUNNING_RUN = '{running}';
const runId = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(FINISHED_RUN, RUNNING_RUN) }, { weight: 1, arbitrary: integerText.map((text) => encodeURIComponent(text)) });

const segment = fc.oneof(
  fc.constantFrom('1', '2', '0', '-1', '1.5', '9007199254740993', '99999999999999999999', 'abc', 'scrape_all_platforms', 'detect_stale_runs', 'prune_run_events', '..', '%2e%2e', '%00', 'active', '', 'northwind'),
  fc.string({ maxLength: 30 }).map((text) => encodeURIComponent(text)),
  fc.nat().map(String),
  runId,
);
const queryValue = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), integerText, pageToken, fc.constantFrom('running,completed', 'api,schedule', 'nope', '101', '0', '-5', ''));
const query = fc.dictionary(fc.constantFrom('status', 'trigger', 'limit', 'cursor', 'lastEventId', 'platform', 'q', 'platforms', 'observe', 'x', '__proto__'), queryValue, { maxKeys: 4 });
const jsonShape = fc.oneof(
  fc.record({
    platforms: fc.option(fc.oneof(fc.array(fc.constantFrom('northwind', 'redfox', 'bluepeak', 'nope', ''), { maxLength: 8 }), fc.jsonValue()), { nil: undefined }),
    observe: fc.option(fc.oneof(fc.boolean(), fc.jsonValue()), { nil: undefined }),
    retryOf: fc.option(fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 1e3, 1.5, -0), fc.jsonValue()), { nil: undefined }),
    intervalSeconds: fc.option(fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.constantFrom(0, -1, 9, 10, 86_400, 86_401, 2 ** 31, 2 ** 53, 2 ** 63, 10.5), fc.jsonValue()), { nil: undefined }),
  }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 4 }),
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: jsonShape.map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"platforms":', '\u0000\u0001', '[]', 'null', '{"__proto__":{"x":1}}') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('retryOf', 'intervalSeconds'), jsonInteger).map(([key, value]) => `{"${key}":${value}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((size) => `{"platforms":["${'a'.repeat(size)}"]}`) },
);
const request = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET', 'POST') }, { weight: 4, arbitrary: fc.constantFrom(...METHODS) }),
  route: fc.constantFrom(...ROUTES),
  /** The route's `:id`, then its `:platform` (a configured name when absent). */
  ids: fc.array(segment, { minLength: 1, maxLength: 2 }),
  query,
  contentType: fc.constantFrom(...CONTENT_TYPES),
  lastEventId: fc.option(fc.oneof(fc.nat().map(String), integerText, fc.constantFrom('-1', 'abc', '1e3', '99999999999999999999999', ' 5 ', '0x10')), { nil: undefined }),
  origin: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('http://evil.example', 'null') }),
  body,
  chunked: fc.boolean(),
});
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** Requests aimed at the integers the API reads, each from integerText and its kin. */
const JOBS = ['scrape_all_platforms', 'detect_stale_runs', 'prune_run_events'] as const;
const integerRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    target: fc.constantFrom('run', 'runStream', 'globalStream', 'runs', 'odds', 'history', 'platformHistory', 'capture', 'screenshot', 'retry', 'interval'),
    method: fc.constantFrom('GET', 'GET', 'HEAD'),
    id: runId,
    cursor: integerText,
    asQuery: fc.boolean(),
    limit: fc.option(integerText, { nil: undefined }),
    pageToken: fc.option(pageToken, { nil: undefined }),
    number: jsonInteger,
    job: fc.constantFrom(...JOBS),
  })
  .map(({ target, method, id, cursor, asQuery, limit, pageToken: token, number, job }) => {
    const base: FuzzRequest = { method, route: '', ids: [id], query: {}, contentType: 'application/json', lastEventId: undefined, origin: undefined, body: undefined, chunked: false };
    const withLimit: Record<string, string> = limit === undefined ? {} : { limit };
    switch (target) {
      case 'run':
        return { ...base, route: '/api/runs/:id' };
      case 'capture':
        return { ...base, route: '/api/runs/:id/steps/:platform/capture' };
      case 'screenshot':
        return { ...base, route: '/api/runs/:id/steps/:platform/capture/screenshot' };
      case 'runStream':
      case 'globalStream':
        return {
          ...base,
          route: target === 'runStream' ? '/api/runs/:id/events' : '/api/events',
          query: asQuery ? { lastEventId: cursor } : {},
          lastEventId: asQuery ? undefined : cursor,
        };
      case 'runs':
        return { ...base, method: 'GET', route: '/api/runs', query: { ...withLimit, ...(token === undefined ? {} : { cursor: token }) } };
      case 'odds':
        return { ...base, method: 'GET', route: '/api/odds', query: withLimit };
      case 'history':
        return { ...base, method: 'GET', route: '/api/runs/history', query: withLimit };
      case 'platformHistory':
        return { ...base, method: 'GET', route: '/api/platforms/:id/history', ids: ['northwind'], query: withLimit };
      case 'retry':
        return { ...base, method: 'POST', route: '/api/runs', body: `{"retryOf":${number}}` };
      default:
        return { ...base, method: 'PATCH', route: '/api/scheduler/jobs/:id', ids: [job], body: `{"intervalSeconds":${number}}` };
    }
  });

interface Answer {
  status: number;
  contentType: string;
  body: string;
  ms: number;
}

/** Sends one request over a fresh connection; SSE answers are read to their headers, then dropped. */
function send(base: URL, input: FuzzRequest): Promise<Answer> {
  const id = (input.ids[0] ?? '1').replace(FINISHED_RUN, String(runs.finished)).replace(RUNNING_RUN, String(runs.running));
  const pathname = input.route.replace(':id', id).replace(':platform', input.ids[1] ?? 'redfox');
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
/** A finished run, and one kept running during the integer property (started there: the broad fuzz starts runs of its own). */
const runs = { finished: 0, running: 0 };
beforeAll(async () => {
  server = await startTestServer({ CONNECTION_GRACE_MS: '300' });
  const finished = await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } });
  runs.finished = (await server.waitForRun(((await finished.json()) as { id: number }).id, ['completed'])).id;
});
afterAll(async () => {
  if (runs.running) server?.runs.inFlight.abort(runs.running, 'fuzzing over');
  await server?.close();
});

/** Log lines that mean a request went wrong inside: an error answered 500, or a stream cut after it opened. */
const failureLogs = () => server.logs.filter((line) => line.msg === 'unhandled error' || line.msg === 'SSE stream failed');

/** One seeded property over `arbitrary`: every request answered below 500, JSON errors without a stack. */
async function fuzz(arbitrary: fc.Arbitrary<FuzzRequest>, numRuns: number, seed: number) {
  const base = new URL(server.url);
  const statuses = new Map<number, number>();
  let slowest = 0;
  let sent = 0;
  const replay = `FUZZ_SEED=${SEED} npx vitest run --project faults tests/faults/apiFuzz.test.ts`;
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (input) => {
        const answer = await send(base, input);
        sent += 1;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        slowest = Math.max(slowest, answer.ms);
        const what = `${input.method} ${input.route} ${JSON.stringify({ ids: input.ids, query: input.query, lastEventId: input.lastEventId, body: input.body?.slice(0, 80) })} -> ${answer.status} ${answer.body.slice(0, 200)}`;
        expect(answer.status, what).toBeGreaterThanOrEqual(100);
        expect(answer.status, what).toBeLessThan(500);
        expect(STACK.test(answer.body), what).toBe(false);
        if (answer.status >= 400 && answer.body && input.method !== 'HEAD' && answer.contentType.includes('json')) {
          expect(JSON.parse(answer.body), what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
        }
      }),
      { numRuns, seed, endOnFailure: true },
    );
  } catch (error) {
    throw new Error(`API fuzzing failed with FUZZ_SEED=${SEED} (replay: ${replay})\n${(error as Error).message}`, { cause: error });
  }
  // A run stream cut after it opened answers 200 first: only its error log tells.
  const failures = failureLogs();
  expect(failures, `FUZZ_SEED=${SEED} (replay: ${replay}): ${JSON.stringify(failures.slice(0, 2)).slice(0, 1_500)}`).toEqual([]);
  return { sent, slowest, statuses };
}
const statusList = (statuses: Map<number, number>) => [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}:${count}`).join(' ');

describe('API fuzzing', () => {
  it(`answers ${RUNS} generated requests without a 5xx or a stack trace (seed printed on failure)`, async () => {
    const { sent, slowest, statuses } = await fuzz(request, RUNS, SEED);
    expect(sent).toBeGreaterThanOrEqual(RUNS);
    recordFault({
      name: 'API fuzzing (fast-check, raw HTTP)',
      endState: `${sent} requests answered, no 5xx, no stack trace, no unhandled error or failed stream logged`,
      figure: { requests: sent, seed: SEED, slowest_answer_ms: Math.round(slowest), statuses: statusList(statuses) },
    });
  });

  it(`answers ${INTEGER_RUNS} requests at the integer edges of every parameter without a 5xx (seed printed on failure)`, async () => {
    // A run the broad fuzz left going ends first, at its usual speed: slowed, its luckyowl step would hold it
    // (and keep this test from starting its own) until the platform timeout.
    await waitFor(async () => {
      const active = (await (await server.api('/api/runs?status=pending,running')).json()) as { items: unknown[] };
      return active.items.length === 0;
    }, { timeoutMs: 60_000, intervalMs: 200, what: 'the broad fuzz\'s runs to end' });
    // Slowed so that it runs throughout (ended in afterAll).
    server.platforms.simulated!.set('luckyowl', { latencyMs: 5_000, pages: 1_000 });
    const running = await waitFor(async () => {
      const answer = await server.api('/api/runs', { method: 'POST', json: { platforms: ['luckyowl'] } });
      return answer.status === 202 ? ((await answer.json()) as { id: number }) : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'a run to start' });
    runs.running = (await server.waitForRun(running.id, ['running'])).id;
    const { sent, slowest, statuses } = await fuzz(integerRequest, INTEGER_RUNS, SEED + 1);
    expect(sent).toBeGreaterThanOrEqual(INTEGER_RUNS);
    recordFault({
      name: 'API fuzzing: integer parameters at their edges',
      endState: `${sent} requests (route ids, both streams' cursors as header and query, limit, page tokens, retryOf, intervalSeconds at int4/int8/2^53 edges) answered, no 5xx, no failed stream logged`,
      figure: { requests: sent, seed: SEED + 1, slowest_answer_ms: Math.round(slowest), statuses: statusList(statuses) },
    });
  });
});
