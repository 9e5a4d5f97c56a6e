import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { startOtlpReceiver } from '../helpers/otlpReceiver.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The real service process, started as `npm start` starts it (`--import` of the telemetry register
 * hook), exporting its spans over OTLP/HTTP to a receiver in this test.
 */
let db: TestDatabase;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let service: ChildService;
let run: RunDetail;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startOtlpReceiver();
  service = await spawnService({
    DATABASE_URL: db.url,
    SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 20, pages: 2, eventsPerPage: 3 }, redfox: { failureRate: 1 } }),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
    METRICS_PORT: '0',
    TRACE_URL_TEMPLATE: 'http://grafana.local/explore?traceId={traceId}',
  });
  const created = (await (
    await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"platforms":["northwind","redfox","bluepeak"]}' })
  ).json()) as RunDetail;
  run = await waitFor(async () => {
    const current = (await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail;
    return current.status === 'partial' ? current : undefined;
  }, { what: 'the run to end partial' });
}, 120_000);
afterAll(async () => {
  await service?.stop('SIGTERM');
  await receiver?.close();
  await db?.drop();
});

const spansOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);

describe('traces over OTLP', () => {
  it('stores the run trace id and turns it into a link', () => {
    expect(run.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(run.traceUrl).toBe(`http://grafana.local/explore?traceId=${run.traceId}`);
  });

  it('exports one scrape.run span with a scrape.platform child per platform, HTTP client calls and queries under them', async () => {
    await waitFor(() => spansOf(run.traceId!).some((span) => span.name === 'scrape.run'), { timeoutMs: 15_000, what: 'the run span' });
    const spans = spansOf(run.traceId!);
    const runSpan = spans.find((span) => span.name === 'scrape.run')!;
    expect(runSpan.parentSpanId).toBeUndefined();
    expect(runSpan.attributes).toMatchObject({
      'oddswatch.run.id': run.id,
      'oddswatch.run.trigger': 'api',
      'oddswatch.run.platform_count': 3,
      'oddswatch.run.status': 'partial',
    });
    expect(runSpan.resource).toMatchObject({ 'service.name': 'oddswatch', 'service.version': expect.any(String), 'service.instance.id': expect.any(String) });
    expect(runSpan.events.map((event) => event.name)).toEqual(expect.arrayContaining(['platform.completed', 'platform.failed', 'run.finished']));

    const platformSpans = spans.filter((span) => span.name === 'scrape.platform');
    expect(platformSpans).toHaveLength(3);
    expect(platformSpans.every((span) => span.parentSpanId === runSpan.spanId)).toBe(true);
    const redfox = platformSpans.find((span) => span.attributes['oddswatch.platform'] === 'redfox')!;
    expect(redfox.attributes['oddswatch.platform.outcome']).toBe('failed');
    expect(redfox.status.code).toBe(2); // ERROR
    expect(redfox.events.some((event) => event.name === 'exception')).toBe(true);
    const northwind = platformSpans.find((span) => span.attributes['oddswatch.platform'] === 'northwind')!;
    expect(northwind.attributes).toMatchObject({ 'oddswatch.platform.events_found': 6, 'oddswatch.platform.outcome': 'completed' });

    for (const platformSpan of platformSpans) {
      const httpClient = spans.filter((span) => span.parentSpanId === platformSpan.spanId && span.kind === 3 /* CLIENT */ && span.attributes['http.request.method'] === 'GET');
      expect(httpClient.length).toBeGreaterThan(0);
    }
    // Feed requests (platforms/feedRequestTelemetry.ts): semantic-convention attributes, a failed page is an error.
    const northwindPages = spans.filter((span) => span.parentSpanId === northwind.spanId && span.kind === 3 && span.attributes['http.request.method'] === 'GET');
    expect(northwindPages.map((span) => span.attributes['oddswatch.feed.page']).sort()).toEqual([1, 2]);
    expect(northwindPages[0]!.attributes).toMatchObject({ 'http.response.status_code': 200, 'server.address': '127.0.0.1', 'url.scheme': 'http' });
    expect(String(northwindPages[0]!.attributes['url.full'])).toMatch(/\/events\?page=\d$/);
    const redfoxPage = spans.find((span) => span.parentSpanId === redfox.spanId && span.kind === 3 && span.attributes['http.request.method'] === 'GET')!;
    expect(Number(redfoxPage.attributes['http.response.status_code'])).toBeGreaterThanOrEqual(500);
    expect(redfoxPage.attributes['error.type']).toBe(String(redfoxPage.attributes['http.response.status_code']));
    expect(redfoxPage.status.code).toBe(2);
    const queries = spans.filter((span) => span.attributes['db.system'] === 'postgresql' || span.attributes['db.system.name'] === 'postgresql');
    expect(queries.length).toBeGreaterThan(0);
    // Parameters are bound (db/boundStatement.ts): a statement's text is its template as the source writes it
    // (`?` placeholders), never the odds it writes; its span and metric come from db/statementTelemetry.ts.
    const textOf = (span: (typeof spans)[number]) => String(span.attributes['db.query.text'] ?? span.attributes['db.statement']);
    const oddsWrites = queries.filter((span) => textOf(span).includes('insert into odds'));
    expect(oddsWrites.length).toBeGreaterThan(0);
    for (const span of oddsWrites) {
      expect(textOf(span)).toMatch(/unnest\(\?::text\[\]/);
      // Named by what it does (db/querySummary.ts), not by its first keyword (WITH).
      expect(span.name).toBe(`pg.query:INSERT ${db.name}`);
      expect(span.attributes).toMatchObject({ 'db.operation.name': 'INSERT', 'db.system.name': 'postgresql', 'server.address': '127.0.0.1' });
      expect(String(span.attributes['db.query.summary'])).toContain('INSERT event_listings INSERT odds');
      expect(textOf(span)).not.toContain('northwind');
    }
  });

  it('links the run trace to the HTTP request that started it', async () => {
    const runSpan = spansOf(run.traceId!).find((span) => span.name === 'scrape.run')!;
    expect(runSpan.links).toHaveLength(1);
    const requestSpan = await waitFor(() => receiver.spans.find((span) => span.spanId === runSpan.links[0]!.spanId), { what: 'the request span' });
    expect(requestSpan.kind).toBe(2); // SERVER
    expect(requestSpan.attributes['http.request.method']).toBe('POST');
  });
});

describe('SSE streams', () => {
  it('make no HTTP server span and no info line (they live for hours): a plain request next to them does', async () => {
    const streams = await Promise.all([`${service.url}/api/events`, `${service.url}/api/runs/${run.id}/events?lastEventId=0`].map((url) => fetch(url)));
    for (const stream of streams) {
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.headers.get('x-trace-id')).toBeNull();
      expect(stream.headers.get('content-security-policy')).toContain("default-src 'self'");
      await stream.body?.cancel();
    }
    const meta = await fetch(`${service.url}/api/meta`);
    const metaTrace = meta.headers.get('x-trace-id');
    expect(metaTrace).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(() => receiver.spans.some((span) => span.traceId === metaTrace && span.kind === 2), { timeoutMs: 15_000, what: 'the /api/meta server span' });
    const serverPaths = receiver.spans.filter((span) => span.kind === 2).map((span) => String(span.attributes['url.path'] ?? span.attributes['http.target'] ?? span.attributes['http.route'] ?? ''));
    expect(serverPaths).toContain('/api/meta');
    expect(serverPaths.filter((path) => path.startsWith('/api/') && path.endsWith('/events'))).toEqual([]);
    expect(service.logs.filter((line) => line.msg === 'request' && /^\/api\/.*\/events$/.test(String(line.path)))).toEqual([]);
  });
});

describe('logs', () => {
  it('carry the run trace id on lines written inside the run', () => {
    const lines = service.logs.filter((line) => line.run_id === run.id && line.msg.startsWith('platform scrape'));
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.every((line) => line.trace_id === run.traceId && typeof line.span_id === 'string')).toBe(true);
    const request = service.logs.find((line) => line.msg === 'request' && line.route === '/api/runs' && line.method === 'POST')!;
    expect(request).toMatchObject({ status: 202, duration_ms: expect.any(Number), trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });
});

describe('log records over OTLP', () => {
  it('carry the run trace id and span ids, as the stdout lines do', async () => {
    // The same lines as on stdout (which still gets them as JSON), no more, no fewer.
    const stdoutCount = service.logs.filter((line) => line.run_id === run.id && line.msg.startsWith('platform scrape')).length;
    expect(stdoutCount).toBeGreaterThanOrEqual(6);
    const runRecords = await waitFor(() => {
      const records = receiver.logs.filter((record) => record.attributes.run_id === run.id && String(record.body).startsWith('platform scrape'));
      return records.length >= stdoutCount ? records : undefined;
    }, { timeoutMs: 15_000, what: 'the run log records' });
    expect(runRecords).toHaveLength(stdoutCount);
    expect(runRecords.every((record) => record.traceId === run.traceId && /^[0-9a-f]{16}$/.test(record.spanId))).toBe(true);
    const platformSpanIds = new Set(spansOf(run.traceId!).filter((span) => span.name === 'scrape.platform').map((span) => span.spanId));
    expect(runRecords.every((record) => platformSpanIds.has(record.spanId))).toBe(true);
    expect(runRecords[0]!.resource).toMatchObject({ 'service.name': 'oddswatch' });
    expect(runRecords.some((record) => record.severityText === 'info' || record.severityNumber === 9)).toBe(true);
  });
});

describe('metrics of the real process', () => {
  it('pass promtool check metrics, on the service port and on METRICS_PORT', async () => {
    const metricsUrl = String(service.logs.find((line) => line.msg === 'oddswatch listening')!.url);
    const snapshot = await MetricsSnapshot.scrape(`${metricsUrl}/metrics`);
    expect(snapshot.value('oddswatch_runs_total', { trigger: 'api', status: 'partial' })).toBe(1);
    expect(snapshot.has('http_server_request_duration_seconds')).toBe(true);
    // One record per feed page: northwind and bluepeak 2 pages each answered 200.
    expect(snapshot.histogramCount('http_client_request_duration_seconds', { http_response_status_code: '200' })).toBe(4);
    // The run's statements (db/statementTelemetry.ts): at least its step writes (odds upserts with the step's end).
    expect(snapshot.histogramCount('db_client_operation_duration_seconds', { db_operation_name: 'INSERT', db_namespace: db.name })).toBeGreaterThanOrEqual(3);
    expect(snapshot.has('nodejs_eventloop_delay_p99_seconds') || snapshot.has('nodejs_eventloop_delay_max_seconds')).toBe(true);
    expect(snapshot.has('v8js_memory_heap_used_bytes')).toBe(true);
    const file = path.join(tmpdir(), `oddswatch-metrics-${process.pid}.txt`);
    await writeFile(file, snapshot.text);
    const { stdout, stderr } = await promisify(execFile)('sh', ['-c', `promtool check metrics < ${file}; echo "exit=$?"`]);
    expect(`${stdout}${stderr}`.trim()).toBe('exit=0');

    const separate = service.logs.find((line) => line.msg === 'metrics listening');
    expect(separate).toBeDefined();
    const other = await MetricsSnapshot.scrape(String(separate!.url));
    expect(other.value('oddswatch_runs_total', { trigger: 'api', status: 'partial' })).toBe(1);
    expect((await fetch(String(separate!.url).replace('/metrics', '/api/runs'))).status).toBe(404);
  });
});
