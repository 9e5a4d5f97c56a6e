import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, TraceDetail } from '../../src/shared/contract.js';
import { startHostileFeed, type FeedCredentials, type HostileFeed } from '../helpers/hostileFeed.js';
import { spawnService } from '../helpers/childService.js';
import { startOtlpReceiver } from '../helpers/otlpReceiver.js';
import { connectSse } from '../helpers/sseClient.js';
import { createTestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import type { TestServer } from '../helpers/testServer.js';
import { captureSpans } from '../helpers/spans.js';

/**
 * A PLATFORMS_FILE feed with a secret in each place a feed can carry one (userinfo, a query parameter,
 * a header from an environment variable): none of them may appear in logs, API bodies, SSE events or spans.
 */
const { exporter, provider } = captureSpans(); // the feed request spans (platforms/feedRequestTelemetry.ts) go to it

const credentials: FeedCredentials = {
  user: 'feeduser-u5er9',
  password: 'pw-s3cr3t-9b7e1',
  apiKey: 'ak-s3cr3t-41d2c',
  header: { name: 'X-Feed-Token', value: 'hdr-s3cr3t-77aa0' },
};
const SECRETS = [credentials.password, credentials.apiKey, credentials.header.value, encodeURIComponent(credentials.password)];
const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-secrets-'));
const PLATFORMS = path.join(dir, 'platforms.json');
let feed: HostileFeed;
let server: TestServer;

beforeAll(async () => {
  feed = await startHostileFeed(credentials);
  const port = new URL(feed.url).port;
  const secured = (name: string, mode: string) => ({
    name,
    baseUrl: `http://${credentials.user}:${credentials.password}@127.0.0.1:${port}/${mode}?apikey=${credentials.apiKey}&region=eu`,
    timeoutMs: 3_000,
    headers: { [credentials.header.name]: { env: 'ODDSWATCH_TEST_FEED_TOKEN' } },
  });
  const file = PLATFORMS;
  writeFileSync(file, JSON.stringify([secured('secured-ok', 'healthy'), secured('secured-500', 'error500'), secured('secured-reset', 'reset'), secured('secured-junk', 'invalid-json')]));
  process.env.ODDSWATCH_TEST_FEED_TOKEN = credentials.header.value;
  const { startTestServer } = await import('../helpers/testServer.js');
  server = await startTestServer({ PLATFORMS_FILE: file, LOG_LEVEL: 'trace' });
});
afterAll(async () => {
  await server?.close();
  await feed?.close();
  await provider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function runToEnd(platforms: string[]): Promise<RunDetail> {
  const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms } })).json()) as RunDetail;
  return server.waitForRun(created.id, ['completed', 'partial', 'failed']);
}

describe('feed secrets', () => {
  it('are sent to the feed, and appear in no log, API body, SSE event or span, on success and on failure', async () => {
    const ok = await runToEnd(['secured-ok']);
    expect(ok.status).toBe('completed');
    expect(feed.refused).toBe(0); // every request carried the three credentials
    const mixed = await runToEnd(['secured-ok', 'secured-500', 'secured-reset', 'secured-junk']);
    expect(mixed.status).toBe('partial');
    const errors = Object.fromEntries(mixed.steps.map((step) => [step.platform, step.error]));
    expect(errors['secured-500']).toMatch(/HTTP 500/);
    expect(errors['secured-junk']).toMatch(/not valid JSON/);
    expect(errors['secured-reset']).toMatch(/fetch failed/);

    const bodies: string[] = [];
    for (const route of ['/api/runs', `/api/runs/${ok.id}`, `/api/runs/${mixed.id}`, '/api/runs/active', '/api/platforms', '/api/meta']) {
      const response = await server.api(route);
      expect(response.status, route).toBe(200);
      bodies.push(await response.text());
    }
    const platforms = JSON.parse(bodies[4]!) as { items: { name: string; baseUrl: string }[] };
    expect(platforms.items.find((item) => item.name === 'secured-ok')!.baseUrl).toBe(`http://***@127.0.0.1:${new URL(feed.url).port}/healthy?apikey=***&region=eu`);

    const streams = [await connectSse(`${server.url}/api/events`, { lastEventId: 0 }), await connectSse(`${server.url}/api/runs/${mixed.id}/events`)];
    const events: string[] = [];
    for (const stream of streams) {
      await stream.waitForEvent((event) => event.event === 'run.finished' || event.data.type === 'run.finished');
      events.push(JSON.stringify(stream.events));
      stream.close();
    }

    const spans = exporter.getFinishedSpans();
    const clientSpans = spans.filter((span) => String(span.attributes['url.full'] ?? '').includes('/events'));
    expect(clientSpans.length).toBeGreaterThan(0);
    expect(clientSpans.every((span) => String(span.attributes['url.full']).includes('apikey=***'))).toBe(true);
    expect(clientSpans.every((span) => /^\?apikey=\*\*\*&region=eu(&|$)/.test(String(span.attributes['url.query'])))).toBe(true);
    const spanText = JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status })));
    const logText = JSON.stringify(server.logs);
    expect(logText).toContain('platform scrape failed');

    const places = { logs: logText, 'API bodies': bodies.join('\n'), 'SSE events': events.join('\n'), spans: spanText };
    for (const secret of SECRETS) {
      for (const [where, text] of Object.entries(places)) expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
    }
  });

  it('the built service (telemetry as npm start sets it up) exports fetch spans with the URL redacted', async () => {
    const db = await createTestDatabase();
    const receiver = await startOtlpReceiver();
    const service = await spawnService({
      DATABASE_URL: db.url,
      PLATFORMS_FILE: PLATFORMS,
      ODDSWATCH_TEST_FEED_TOKEN: credentials.header.value,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    try {
      const created = (await (await fetch(`${service.url}/api/runs`, { method: 'POST', body: '{"platforms":["secured-ok","secured-500"]}', headers: { 'content-type': 'application/json' } })).json()) as RunDetail;
      const clientSpans = await waitFor(() => {
        const found = receiver.spans.filter((span) => String(span.attributes['url.full'] ?? '').includes('/events'));
        return found.length >= 3 ? found : undefined; // two pages of secured-ok, one of secured-500
      }, { timeoutMs: 20_000, what: `client spans of run ${created.id}` });
      expect(clientSpans.every((span) => String(span.attributes['url.full']).includes('apikey=***'))).toBe(true);
      const exported = JSON.stringify(receiver.spans);
      const logs = JSON.stringify(service.logs);
      for (const secret of SECRETS) {
        expect(exported.includes(secret), `${secret} in exported spans`).toBe(false);
        expect(logs.includes(secret), `${secret} in logs`).toBe(false);
      }
    } finally {
      await service.stop('SIGTERM');
      await receiver.close();
      await db.drop();
    }
  }, 120_000);

  it('the built service with no exporter (plain npm start) serves the run trace without a secret', async () => {
    const db = await createTestDatabase();
    const service = await spawnService({ DATABASE_URL: db.url, PLATFORMS_FILE: PLATFORMS, ODDSWATCH_TEST_FEED_TOKEN: credentials.header.value });
    try {
      const created = (await (await fetch(`${service.url}/api/runs`, { method: 'POST', body: '{"platforms":["secured-ok","secured-500"]}', headers: { 'content-type': 'application/json' } })).json()) as RunDetail;
      const run = await waitFor(async () => {
        const current = (await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail;
        return current.finishedAt ? current : undefined;
      }, { timeoutMs: 20_000, what: `run ${created.id} to finish` });
      expect(run.traceUrl).toBe(`/traces/${run.traceId}`);
      const response = await fetch(`${service.url}/api/traces/${run.traceId}`);
      expect(response.status).toBe(200);
      const body = await response.text();
      const { spans } = JSON.parse(body) as TraceDetail;
      const feedSpans = spans.filter((span) => String(span.attributes['url.full'] ?? '').includes('/events'));
      expect(feedSpans.length).toBeGreaterThanOrEqual(3);
      expect(feedSpans.every((span) => String(span.attributes['url.full']).includes('apikey=***'))).toBe(true);
      for (const secret of SECRETS) expect(body.includes(secret), `${secret} in the trace`).toBe(false);
    } finally {
      await service.stop('SIGTERM');
      await db.drop();
    }
  }, 120_000);
});
