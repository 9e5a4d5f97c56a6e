import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: unknown } }> };
  responses: Record<string, { content?: Record<string, { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } }> }>;
}
interface Document {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

const TOKEN = 'operator-token-for-openapi-0123456789';
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
let server: TestServer;
let document: Document;
let response: Response;

beforeAll(async () => {
  server = await startTestServer({ OPERATOR_TOKEN: TOKEN });
  response = await fetch(`${server.url}/api/openapi.json`);
  document = (await response.clone().json()) as Document;
});
afterAll(async () => {
  await server?.close();
});

/** `GET /api/runs/{id}`: Hono's `:id` written as OpenAPI's `{id}`. */
const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/:([^/]+)/g, '{$1}')}`;

const documented = (doc: Document) =>
  new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => routeKey(m, path))));

/** The /api routes the app answers (middleware is mounted for ALL methods, routes for one). */
const mounted = (routes: TestServer['routes']) =>
  new Set(routes.filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/')).map((route) => routeKey(route.method, route.path)));

/** README.md's API table: each row's first cell names its routes (`GET /api/runs?status=`). */
function readmeRoutes(readme: string): Set<string> {
  const routes = new Set<string>();
  for (const line of readme.split('\n')) {
    const firstCell = /^\| (.*?) \|/.exec(line)?.[1];
    if (!firstCell) continue;
    for (const [, method, path] of firstCell.matchAll(/`(GET|PUT|POST|PATCH|DELETE) (\/api\/[^`?\s]*)/g)) routes.add(routeKey(method!, path!));
  }
  return routes;
}

describe('GET /api/openapi.json', () => {
  it('is public and cacheable: no token needed where one is set, and it holds no secret', async () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(await response.text()).not.toContain(TOKEN);
    const meta = (await (await fetch(`${server.url}/api/meta`)).json()) as { version: string };
    expect(document).toMatchObject({ openapi: '3.1.0', info: { version: meta.version } });
  });

  it('describes every /api route the app answers, and none it does not', () => {
    const routes = mounted(server.routes);
    expect(routes.size).toBeGreaterThan(10);
    expect([...routes].filter((route) => !documented(document).has(route))).toEqual([]);
    expect([...documented(document)].filter((route) => !routes.has(route))).toEqual([]);
  });

  it("agrees with README.md's API table, both ways", async () => {
    const readme = readmeRoutes(await readFile(new URL('../../README.md', import.meta.url), 'utf8'));
    expect([...documented(document)].filter((route) => !readme.has(route))).toEqual([]);
    expect([...readme].filter((route) => !documented(document).has(route))).toEqual([]);
  });

  it('lists the error codes of each error answer, all from ERROR_CODES', () => {
    const codes = Object.values(document.paths).flatMap((item) =>
      Object.values(item).flatMap((operation) =>
        Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400)
          .map(([, answer]) => answer.content!['application/json']!.schema.properties.error.properties.code.enum),
      ),
    );
    expect(codes.length).toBeGreaterThan(20);
    for (const listed of codes) {
      expect(listed.length).toBeGreaterThan(0);
      for (const code of listed) expect(ERROR_CODES).toContain(code);
    }
    expect(document.paths['/api/runs']!.post!.responses['409']!.content!['application/json']!.schema.properties.error.properties.code.enum).toEqual(['run_active', 'already_retried']);
  });

  it('marks the mutating routes, and only them, as needing the operator bearer token', () => {
    expect(Object.values(document.components.securitySchemes)).toEqual([expect.objectContaining({ type: 'http', scheme: 'bearer' })]);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect({ route: routeKey(method, path), secured: Boolean(operation.security?.length) }).toEqual({ route: routeKey(method, path), secured: method !== 'get' });
      }
    }
  });

  it('documents the schemas the routes validate with (POST /api/runs: its three fields, no other)', () => {
    const schema = document.paths['/api/runs']!.post!.requestBody!.content['application/json']!.schema;
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(['observe', 'platforms', 'retryOf']);
    expect(schema.additionalProperties).toBe(false);
  });
});
