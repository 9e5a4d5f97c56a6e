import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import type { TestServer } from '../helpers/testServer.js';
import { captureSpans } from '../helpers/spans.js';

/**
 * Spans in process, captured by an in-memory exporter. The tracer provider is registered before the
 * service modules load, as the service's register hook does; statement and feed request spans are the
 * service's own (db/statementTelemetry.ts, platforms/feedRequestTelemetry.ts).
 */
const { exporter, provider } = captureSpans();

let server: TestServer;
beforeAll(async () => {
  const { FAST_LIFECYCLE, startTestServer } = await import('../helpers/testServer.js');
  server = await startTestServer(FAST_LIFECYCLE);
});
afterAll(async () => {
  await server?.close();
  await provider.shutdown();
});

async function post(body: unknown): Promise<RunDetail> {
  return (await (await server.api('/api/runs', { method: 'POST', json: body })).json()) as RunDetail;
}
const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('spans of a run', () => {
  it('one scrape.run with exactly one scrape.platform child per platform, HTTP client and pg spans under them', async () => {
    server.platforms.simulated!.set('redfox', { failureRate: 1 });
    const created = await post({ platforms: ['northwind', 'redfox', 'bluepeak'] });
    const run = await server.waitForRun(created.id, ['partial']);
    server.platforms.simulated!.set('redfox', { failureRate: 0 });
    expect(run.traceId).toMatch(/^[0-9a-f]{32}$/);

    const spans = spansOf(run.traceId!);
    const runSpans = spans.filter((span) => span.name === 'scrape.run');
    expect(runSpans).toHaveLength(1);
    const runSpan = runSpans[0]!;
    expect(runSpan.attributes).toMatchObject({
      'oddswatch.run.id': run.id,
      'oddswatch.run.trigger': 'api',
      'oddswatch.run.platform_count': 3,
      'oddswatch.run.status': 'partial',
    });
    expect(runSpan.status.code).not.toBe(2);

    const platformSpans = spans.filter((span) => span.name === 'scrape.platform');
    expect(platformSpans).toHaveLength(3);
    expect(platformSpans.every((span) => parentOf(span) === runSpan.spanContext().spanId)).toBe(true);
    const byPlatform: Record<string, ReadableSpan> = Object.fromEntries(platformSpans.map((span) => [String(span.attributes['oddswatch.platform']), span]));
    expect(byPlatform.redfox!.attributes['oddswatch.platform.outcome']).toBe('failed');
    expect(byPlatform.redfox!.status.code).toBe(2);
    expect(byPlatform.redfox!.events.some((event) => event.name === 'exception')).toBe(true);
    expect(byPlatform.northwind!.attributes).toMatchObject({ 'oddswatch.platform.outcome': 'completed', 'oddswatch.platform.events_found': 10 });
    expect(byPlatform.northwind!.status.code).toBe(1);
    for (const platformSpan of platformSpans) {
      const children = spans.filter((span) => parentOf(span) === platformSpan.spanContext().spanId);
      expect(children.some((span) => span.attributes['http.request.method'] === 'GET')).toBe(true);
      expect(children.some((span) => span.attributes['db.system.name'] === 'postgresql' && span.name.startsWith('pg.query:'))).toBe(true);
    }
  });

  it('ends a connection_failed run with ERROR and its attributes', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 150, pages: 4 });
    const created = await post({ platforms: ['northwind', 'redfox'], observe: true });
    const run = await server.waitForRun(created.id, ['connection_failed']);
    server.platforms.simulated!.set('northwind', { latencyMs: 20, pages: 2 });
    const runSpan = spansOf(run.traceId!).find((span) => span.name === 'scrape.run')!;
    expect(runSpan.status).toMatchObject({ code: 2, message: 'connection_failed: connection_lost' });
    expect(runSpan.attributes).toMatchObject({ 'oddswatch.run.status': 'connection_failed', 'oddswatch.run.failure_reason': 'connection_lost', 'oddswatch.run.trigger': 'api-stream' });
    // Both platforms start at once (default pool): redfox has finished, northwind is stopped in flight at the grace.
    const lost = runSpan.events.filter((event) => event.name === 'connection.lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.attributes).toMatchObject({ platforms_done: 1, platforms_not_done: 1 });
    expect(lost[0]!.attributes!.unwatched_ms).toBeGreaterThanOrEqual(300);
    // Its span ends once its replica stopped it (the run's end reaches it on the bus): possibly a moment after the run's.
    const { waitFor } = await import('../helpers/waitFor.js');
    const northwind = await waitFor(() => spansOf(run.traceId!).find((span) => span.name === 'scrape.platform' && span.attributes['oddswatch.platform'] === 'northwind'), { what: "northwind's span" });
    expect(northwind.attributes['oddswatch.platform.outcome']).toBe('aborted');
  });

  it('ends a stale run with ERROR and failure_reason stale', async () => {
    server.platforms.simulated!.set('luckyowl', { hang: true });
    const created = await post({ platforms: ['luckyowl'] });
    await server.waitForRun(created.id, ['running']);
    const { waitFor } = await import('../helpers/waitFor.js');
    await waitFor(async () => (await server.runs.detectStale()) === 1, { timeoutMs: 10_000, intervalMs: 100 });
    server.platforms.simulated!.set('luckyowl', { hang: false });
    const run = await server.waitForRun(created.id, ['failed']);
    const runSpan = await waitFor(() => spansOf(run.traceId!).find((span) => span.name === 'scrape.run'));
    expect(runSpan.status).toMatchObject({ code: 2, message: 'failed: stale' });
    expect(runSpan.attributes).toMatchObject({ 'oddswatch.run.status': 'failed', 'oddswatch.run.failure_reason': 'stale' });
  });
});
