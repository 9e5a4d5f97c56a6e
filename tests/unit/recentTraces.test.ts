import { context, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecentTraces } from '../../src/telemetry/recentTraces.js';

let store: RecentTraces;
let provider: BasicTracerProvider;
let tracer: Tracer;
const contextManager = new AsyncLocalStorageContextManager();

beforeEach(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
});
afterEach(async () => {
  await provider.shutdown();
  context.disable();
});

function setUp(limits: ConstructorParameters<typeof RecentTraces>[0] = {}) {
  store = new RecentTraces(limits);
  provider = new BasicTracerProvider({ spanProcessors: [store] });
  tracer = provider.getTracer('test');
}

/** A run as the runner records it: scrape.run, then a scrape.platform per platform with a feed page span. */
function recordRun(runId: number, platforms: string[], failing?: string): string {
  return tracer.startActiveSpan('scrape.run', { attributes: { 'oddswatch.run.id': runId } }, (run) => {
    for (const platform of platforms) {
      tracer.startActiveSpan('scrape.platform', { attributes: { 'oddswatch.platform': platform, 'oddswatch.note': 'x'.repeat(800) } }, (span) => {
        tracer.startSpan('GET', { kind: 2 }).end();
        span.addEvent('page.read');
        if (platform === failing) span.setStatus({ code: SpanStatusCode.ERROR, message: 'feed answered 503' });
        span.end();
      });
    }
    run.end();
    return run.spanContext().traceId;
  });
}

describe('RecentTraces: the last runs spans in memory', () => {
  it('holds a run trace once its run span ended: parents, kinds, status, events, cut attributes', () => {
    setUp();
    const traceId = recordRun(7, ['alpha', 'beta'], 'beta');
    const detail = store.trace(traceId)!;
    expect(detail.runId).toBe(7);
    expect(detail.spans.map((span) => span.name)).toEqual(['scrape.run', 'scrape.platform', 'GET', 'scrape.platform', 'GET']);
    const [run, alpha, alphaPage, beta] = detail.spans;
    expect(run!.parentSpanId).toBeNull();
    expect(alpha!.parentSpanId).toBe(run!.spanId);
    expect(alphaPage!.parentSpanId).toBe(alpha!.spanId);
    expect(alphaPage!.kind).toBe('client');
    expect(run!.kind).toBe('internal');
    expect(beta!.status).toBe('error');
    expect(beta!.statusMessage).toBe('feed answered 503');
    expect(alpha!.events.map((event) => event.name)).toEqual(['page.read']);
    expect(String(alpha!.attributes['oddswatch.note']).length).toBe(501);
    expect(run!.offsetMs).toBe(0);
    // Start times have Date.now()'s millisecond resolution (durations are finer): children end within 1 ms of their run.
    for (const span of detail.spans) {
      expect(span.offsetMs).toBeGreaterThanOrEqual(0);
      expect(span.offsetMs + span.durationMs).toBeLessThanOrEqual(run!.durationMs + 1);
    }
  });

  it('keeps no trace without a run span, and answers undefined for one it does not hold', () => {
    setUp();
    const span = tracer.startSpan('GET /api/runs');
    span.end();
    expect(store.trace(span.spanContext().traceId)).toBeUndefined();
    expect(store.trace('0af7651916cd43dd8448eb211c80319c')).toBeUndefined();
  });

  it('keeps the last `runs` run traces and at most `spansPerTrace` spans of each', () => {
    setUp({ runs: 3, spansPerTrace: 4 });
    const ids = [1, 2, 3, 4, 5].map((runId) => recordRun(runId, ['alpha', 'beta', 'gamma']));
    expect(ids.slice(0, 2).map((id) => store.trace(id))).toEqual([undefined, undefined]);
    for (const id of ids.slice(2)) expect(store.trace(id)!.spans).toHaveLength(4);
  });

  it('keeps nothing of traces without a run span, and never drops a held run for them', () => {
    setUp({ runs: 2 });
    const held = recordRun(1, ['alpha']);
    for (let index = 0; index < 50; index += 1) tracer.startSpan(`GET ${index}`).end();
    expect((store as unknown as { traces: Map<string, unknown> }).traces.size).toBe(1);
    expect(store.trace(held)!.runId).toBe(1);
  });

  it('does not keep the whole of a long attribute alive through its cut (a statement text of 200 KB)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    setUp({ runs: 1, spansPerTrace: 500 });
    gc();
    const before = process.memoryUsage().heapUsed;
    tracer.startActiveSpan('scrape.run', (run) => {
      // Built by concatenation, as the ORM builds statements, so each text is a string of its own.
      for (let index = 0; index < 200; index += 1) tracer.startSpan('pg.query', { attributes: { 'db.query.text': `select ${index}, '${'x'.repeat(200_000)}'` } }).end();
      run.end();
    });
    gc();
    const retainedMb = (process.memoryUsage().heapUsed - before) / 1e6;
    expect(retainedMb).toBeLessThan(5); // 200 x 200 KB = 40 MB if each cut kept its statement
  });
});
