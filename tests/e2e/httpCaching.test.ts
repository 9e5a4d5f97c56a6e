import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * What a browser downloads: JSON and the dashboard's files gzipped when asked, SSE never; hashed assets
 * cached for a year (a changed file is a new URL), index.html revalidated each time. No browser needed:
 * this project is where the built dashboard exists.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const created = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
  await server.waitForRun(created.id, ['completed', 'partial']);
});
afterAll(async () => server?.close());

describe('responses', () => {
  it('are gzipped for JSON when the client accepts it, far smaller than the plain body', async () => {
    const plain = await fetch(`${server.url}/api/odds`, { headers: { 'accept-encoding': 'identity' } });
    const plainBytes = (await plain.arrayBuffer()).byteLength;
    // fetch decompresses by itself: read the encoding and the wire size from a raw request instead.
    const { request } = await import('node:http');
    const wire = await new Promise<{ encoding?: string; bytes: number }>((resolve, reject) => {
      request(`${server.url}/api/odds`, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () => resolve({ encoding: response.headers['content-encoding'], bytes }));
      })
        .on('error', reject)
        .end();
    });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(wire.encoding).toBe('gzip');
    expect(wire.bytes * 4).toBeLessThan(plainBytes);
  });

  it('are never compressed on an event stream', async () => {
    const response = await fetch(`${server.url}/api/events`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('content-encoding')).toBeNull();
    await response.body?.cancel();
  });

  it('cache hashed assets for a year and revalidate index.html', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const asset = /\/assets\/[^"]+\.js/.exec(html)![0];
    const fallback = await fetch(`${server.url}/runs/1`); // a client route: the SPA fallback serves index.html
    expect(fallback.headers.get('cache-control')).toBe('no-cache');
    const script = await fetch(`${server.url}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
});
