/** The trace page: waterfall layout (lib/trace.ts), the view's states, and the run page's link to it. */
import { beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createPinia, setActivePinia } from 'pinia';
import { mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter, RouterView } from 'vue-router';
import { defineComponent, h } from 'vue';
import type { TraceDetail, TraceSpan } from '@contract';
import { SPAN_KINDS } from '@contract';
import { layoutTrace, spanDuration, spanSubtitle, visibleRows } from '@/lib/trace';
import { routes } from '@/router';
import { makeDetail, makeStep } from './helpers/fixtures';
import { apiError, flush, installFakeFetch } from './helpers/fakeFetch';

const START = Date.parse('2026-01-27T16:00:00.000Z');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A client span named GET unless `fields` say otherwise; it starts `offsetMs` after START. */
function span(fields: Pick<TraceSpan, 'spanId' | 'parentSpanId' | 'offsetMs' | 'durationMs'> & Partial<TraceSpan>): TraceSpan {
  return {
    name: 'GET',
    kind: 'client',
    startedAt: new Date(START + fields.offsetMs).toISOString(),
    status: 'unset',
    statusMessage: null,
    attributes: {},
    events: [],
    ...fields,
  };
}

/** A two-platform run: platform spans with a feed request and a query each, listed by start (as the service does). */
const SPANS: TraceSpan[] = [
  span({ spanId: 'root', parentSpanId: null, offsetMs: 0, durationMs: 2000, name: 'scrape.run', kind: 'internal', attributes: { 'oddswatch.run.id': 7 }, events: [{ name: 'run.finished', offsetMs: 2000 }] }),
  span({ spanId: 'p-bravo', parentSpanId: 'root', offsetMs: 100, durationMs: 1500, name: 'scrape.platform', kind: 'internal', status: 'error', statusMessage: 'HTTP 503', attributes: { 'oddswatch.platform': 'bravo' } }),
  span({ spanId: 'p-alpha', parentSpanId: 'root', offsetMs: 50, durationMs: 800, name: 'scrape.platform', kind: 'internal', status: 'ok', attributes: { 'oddswatch.platform': 'alpha' }, events: [{ name: 'page.read', offsetMs: 400 }] }),
  span({ spanId: 'q-alpha', parentSpanId: 'p-alpha', offsetMs: 60, durationMs: 2, name: 'pg.query:UPDATE oddswatch', attributes: { 'db.system.name': 'postgresql' } }),
  span({ spanId: 'h-alpha', parentSpanId: 'p-alpha', offsetMs: 70, durationMs: 300, attributes: { 'url.full': 'http://127.0.0.1:4100/alpha/feed?page=1&key=REDACTED' } }),
  span({ spanId: 'q-bravo', parentSpanId: 'p-bravo', offsetMs: 120, durationMs: 1, name: 'pg.query:UPDATE oddswatch', attributes: { 'db.system': 'postgresql' } }),
  span({ spanId: 'h-bravo', parentSpanId: 'p-bravo', offsetMs: 130, durationMs: 1400, status: 'error', statusMessage: 'HTTP 503' }),
].sort((a, b) => a.offsetMs - b.offsetMs);

describe('layoutTrace', () => {
  it('orders the tree depth first, children by start, with depths and bars on the trace axis', () => {
    const layout = layoutTrace(SPANS);
    expect(layout.totalMs).toBe(2000);
    expect(layout.rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['root', 0],
      ['p-alpha', 1],
      ['q-alpha', 2],
      ['h-alpha', 2],
      ['p-bravo', 1],
      ['q-bravo', 2],
      ['h-bravo', 2],
    ]);
    const bravo = layout.rows.find((r) => r.span.spanId === 'p-bravo')!;
    expect([bravo.leftPct, bravo.widthPct]).toEqual([5, 75]);
    expect(layout.rows.filter((r) => r.database).map((r) => r.span.spanId)).toEqual(['q-alpha', 'q-bravo']);
    expect(layout.ticks).toEqual([0, 500, 1000, 1500, 2000]);
  });

  it('shows a span whose parent was not recorded here as a root, and survives a parent cycle', () => {
    const layout = layoutTrace([span({ spanId: 'a', parentSpanId: 'gone', offsetMs: 10, durationMs: 5 }), span({ spanId: 'b', parentSpanId: 'c', offsetMs: 0, durationMs: 1 }), span({ spanId: 'c', parentSpanId: 'b', offsetMs: 1, durationMs: 1 })]);
    expect(layout.rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 1],
    ]);
  });

  it('without database spans drops them and whatever they contain, nothing else', () => {
    const rows = layoutTrace([...SPANS, span({ spanId: 'inner', parentSpanId: 'q-bravo', offsetMs: 120, durationMs: 1 })]).rows;
    expect(visibleRows(rows, true)).toHaveLength(8);
    expect(visibleRows(rows, false).map((r) => r.span.spanId)).toEqual(['root', 'p-alpha', 'h-alpha', 'p-bravo', 'h-bravo']);
  });

  const arbitrarySpans = fc
    .uniqueArray(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 3 }), { minLength: 0, maxLength: 40 })
    .chain((ids) =>
      fc.tuple(
        ...ids.map((id) =>
          fc.record({
            spanId: fc.constant(id),
            // A parent among the ids (cycles and self-parents included), a missing one, or none.
            parentSpanId: fc.oneof(fc.constant(null), fc.constant('missing'), ids.length ? fc.constantFrom(...ids) : fc.constant(null)),
            offsetMs: fc.oneof(fc.double({ min: 0, max: 10_000, noNaN: true }), fc.constant(0)),
            durationMs: fc.oneof(fc.double({ min: 0, max: 10_000, noNaN: true }), fc.constant(0)),
            kind: fc.constantFrom(...SPAN_KINDS),
          }),
        ),
      ),
    )
    .map((specs) => specs.map((s) => span({ spanId: s.spanId, parentSpanId: s.parentSpanId, offsetMs: s.offsetMs, durationMs: s.durationMs, kind: s.kind })));

  it('property: every span exactly once, parents before children, siblings by start, bars within 0..100 %', () => {
    fc.assert(
      fc.property(arbitrarySpans, (spans) => {
        const { rows, totalMs, ticks } = layoutTrace(spans);
        expect(rows.map((r) => r.span.spanId).sort()).toEqual(spans.map((s) => s.spanId).sort());
        const position = new Map(rows.map((r, i) => [r.span.spanId, i]));
        rows.forEach((row, i) => {
          const parent = row.span.parentSpanId == null ? undefined : position.get(row.span.parentSpanId);
          if (row.depth > 0) {
            // Indented rows sit right under their parent's subtree: the parent is the nearest row one level up.
            expect(parent).toBeDefined();
            expect(parent!).toBeLessThan(i);
            expect(rows[parent!]!.depth).toBe(row.depth - 1);
            expect(rows.slice(parent! + 1, i).every((between) => between.depth >= row.depth)).toBe(true);
          }
          expect(row.leftPct).toBeGreaterThanOrEqual(0);
          expect(row.widthPct).toBeGreaterThanOrEqual(0);
          expect(row.leftPct + row.widthPct).toBeLessThanOrEqual(100 + 1e-9);
        });
        // Siblings under one parent in order of their start.
        const lastChildStart = new Map<number, number>();
        rows.forEach((row) => {
          if (row.depth === 0) return;
          const parent = position.get(row.span.parentSpanId!)!;
          expect(row.span.offsetMs).toBeGreaterThanOrEqual(lastChildStart.get(parent) ?? 0);
          lastChildStart.set(parent, row.span.offsetMs);
        });
        expect(totalMs).toBeGreaterThan(0);
        expect(ticks.every((t) => t >= 0 && t <= totalMs)).toBe(true);
      }),
    );
  });

  it('property: hiding database spans keeps every other span whose ancestors are not database spans', () => {
    fc.assert(
      fc.property(arbitrarySpans, fc.func(fc.boolean()), (spans, isDb) => {
        const marked = spans.map((s) => (isDb(s.spanId) ? { ...s, attributes: { 'db.system.name': 'postgresql' } } : s));
        const rows = layoutTrace(marked).rows;
        const shown = visibleRows(rows, false);
        expect(shown.every((r) => !r.database)).toBe(true);
        // A shown row's parent row (the nearest shallower row before it) is shown too.
        for (const row of shown) {
          const i = rows.indexOf(row);
          const parent = rows.slice(0, i).reverse().find((r) => r.depth < row.depth);
          if (parent) expect(shown).toContain(parent);
        }
        expect(visibleRows(rows, true)).toEqual(rows);
      }),
    );
  });
});

describe('span wording', () => {
  it('formats sub-millisecond durations and names the bookmaker or the request target', () => {
    expect(spanDuration(0.42)).toBe('0.4 ms');
    expect(spanDuration(7.25)).toBe('7.3 ms');
    expect(spanDuration(950)).toBe('950 ms');
    expect(spanDuration(3200)).toBe('3.2 s');
    expect(spanSubtitle(SPANS.find((s) => s.spanId === 'p-alpha')!)).toBe('alpha');
    expect(spanSubtitle(SPANS.find((s) => s.spanId === 'h-alpha')!)).toBe('127.0.0.1:4100/alpha/feed?page=1&key=REDACTED');
    // A served request (kind server) has no url.full; its query comes without the "?".
    expect(spanSubtitle(span({ spanId: 'x', parentSpanId: null, offsetMs: 0, durationMs: 1, kind: 'server', attributes: { 'url.path': '/feed', 'url.query': 'page=2', 'server.address': 'feeds.test' } }))).toBe('feeds.test/feed?page=2');
    expect(spanSubtitle(span({ spanId: 'x', parentSpanId: null, offsetMs: 0, durationMs: 1, attributes: { 'url.path': '/feed' } }))).toBe('/feed');
    expect(spanSubtitle(SPANS[0]!)).toBeNull();
  });
});

const Root = defineComponent({ render: () => h(RouterView) });

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  await router.isReady();
  const wrapper = mount(Root, { global: { plugins: [router] }, attachTo: document.body });
  await flush();
  return { wrapper, router };
}

describe('TraceView', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
  });

  const detail: TraceDetail = { traceId: TRACE_ID, runId: 7, spans: SPANS };

  it('shows the trace id, the run link and one row per span in tree order, errors said in words', async () => {
    const fake = installFakeFetch({ [`GET /api/traces/${TRACE_ID}`]: { body: detail } });
    const { wrapper } = await mountAt(`/traces/${TRACE_ID}`);
    expect(fake.calls.map((c) => c.path)).toEqual([`/api/traces/${TRACE_ID}`]);
    expect(wrapper.get('[data-testid="trace-id"]').text()).toBe(TRACE_ID);
    expect(wrapper.get('[data-testid="trace-run-link"]').attributes('href')).toBe('/runs/7');
    const rows = wrapper.findAll('[data-testid="trace-span"]');
    expect(rows.map((r) => [r.attributes('data-name'), r.attributes('data-depth')])).toEqual([
      ['scrape.run', '0'],
      ['scrape.platform', '1'],
      ['pg.query:UPDATE oddswatch', '2'],
      ['GET', '2'],
      ['scrape.platform', '1'],
      ['pg.query:UPDATE oddswatch', '2'],
      ['GET', '2'],
    ]);
    expect(rows[4]!.attributes('data-platform')).toBe('bravo');
    expect(rows[4]!.get('[data-testid="trace-span-error"]').text()).toBe('✕ Error');
    expect(rows[4]!.get('.bar').attributes('style')).toContain('left: 5%');
    expect(rows[4]!.get('.bar').attributes('style')).toContain('width: 75%');
    expect(rows[1]!.find('[data-testid="trace-span-error"]').exists()).toBe(false);
    expect(rows[4]!.get('button').text()).toContain('error: HTTP 503');
    expect(wrapper.get('[data-testid="trace-summary"]').text()).toMatch(/7 spans · 2\.0 s\s*· ✕ 2 errors/);
    wrapper.unmount();
  });

  it('expands a span to its status, attributes and events, and hides database spans on request', async () => {
    installFakeFetch({ [`GET /api/traces/${TRACE_ID}`]: { body: detail } });
    const { wrapper } = await mountAt(`/traces/${TRACE_ID}`);
    const alpha = () => wrapper.get('[data-testid="trace-span"][data-span-id="p-alpha"]');
    const toggle = alpha().get('[data-testid="trace-span-toggle"]');
    expect(toggle.attributes('aria-expanded')).toBe('false');
    await toggle.trigger('click');
    expect(toggle.attributes('aria-expanded')).toBe('true');
    const details = alpha().get('[data-testid="trace-span-details"]');
    expect(toggle.attributes('aria-controls')).toBe(details.attributes('id'));
    expect(details.text()).toContain('oddswatch.platform');
    expect(details.text()).toContain('alpha');
    expect(details.text()).toContain('page.read');
    expect(details.text()).toContain('at +400 ms');

    await wrapper.get('[data-testid="trace-show-database"]').setValue(false);
    expect(wrapper.findAll('[data-testid="trace-span"]').map((r) => r.attributes('data-span-id'))).toEqual(['root', 'p-alpha', 'h-alpha', 'p-bravo', 'h-bravo']);
    expect(alpha().find('[data-testid="trace-span-details"]').exists()).toBe(true);
    wrapper.unmount();
  });

  const META = { version: 't', authRequired: false, platforms: [], connectionGraceMs: 5000 };

  it('a trace the service no longer holds (a restart, or older than its last runs) says it has expired, and links to Tempo when TRACE_URL_TEMPLATE is set', async () => {
    const fake = installFakeFetch({
      [`GET /api/traces/${TRACE_ID}`]: apiError(404, 'trace_not_found', `trace ${TRACE_ID} is not held here`, { reason: 'not_held' }),
      'GET /api/meta': { body: { ...META, traceUrlTemplate: 'http://grafana.test/explore?left={traceId}' } },
    });
    const { wrapper } = await mountAt(`/traces/${TRACE_ID}`);
    const notFound = wrapper.get('[data-testid="trace-not-found"]');
    expect(notFound.attributes('data-reason')).toBe('not_held');
    expect(notFound.text()).toContain(`Trace ${TRACE_ID} has expired.`);
    expect(notFound.text()).toMatch(/in memory only.*restart\s+loses them/s);
    const tempo = wrapper.get('[data-testid="trace-tempo-link"]');
    expect(tempo.attributes('href')).toBe(`http://grafana.test/explore?left=${TRACE_ID}`);
    expect(tempo.attributes('target')).toBe('_blank');
    expect(wrapper.find('[data-testid="trace-keep-hint"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="trace-run-link"]').exists()).toBe(false);
    expect(fake.callsTo('GET', '/api/meta')).toHaveLength(1);
    wrapper.unmount();
  });

  it('without TRACE_URL_TEMPLATE it says how to keep traces instead of linking; a service that exports says so; other errors show their message', async () => {
    installFakeFetch({
      [`GET /api/traces/${TRACE_ID}`]: apiError(404, 'trace_not_found', `trace ${TRACE_ID} is not held here`, { reason: 'not_held' }),
      'GET /api/traces/0af7651916cd43dd8448eb211c80319c': apiError(404, 'trace_not_found', 'this service exports its traces', { reason: 'exported' }),
      'GET /api/traces/nope': apiError(400, 'invalid_request', 'traceId: 32 lowercase hex characters'),
      'GET /api/meta': { body: { ...META, traceUrlTemplate: null } },
    });
    const { wrapper, router } = await mountAt(`/traces/${TRACE_ID}`);
    expect(wrapper.get('[data-testid="trace-not-found"]').text()).toContain('has expired');
    expect(wrapper.find('[data-testid="trace-tempo-link"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="trace-keep-hint"]').text()).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    await router.push('/traces/0af7651916cd43dd8448eb211c80319c');
    await flush();
    const exported = wrapper.get('[data-testid="trace-not-found"]');
    expect(exported.attributes('data-reason')).toBe('exported');
    expect(exported.text()).not.toContain('expired');
    await router.push('/traces/nope');
    await flush();
    expect(wrapper.get('[data-testid="trace-error"]').text()).toBe('traceId: 32 lowercase hex characters');
    wrapper.unmount();
  });
});

describe('RunDetailView trace links', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
  });

  it('a trace path on this service opens the trace page in the same tab', async () => {
    installFakeFetch({
      'GET /api/runs/7': { body: makeDetail({ id: 7, status: 'completed', steps: [makeStep('alpha', { status: 'completed', durationMs: 800 })], traceId: TRACE_ID, traceUrl: `/traces/${TRACE_ID}` }) },
      [`GET /api/traces/${TRACE_ID}`]: { body: { traceId: TRACE_ID, runId: 7, spans: SPANS } satisfies TraceDetail },
    });
    const { wrapper, router } = await mountAt('/runs/7');
    const timelineLink = wrapper.get('[data-testid="timeline-trace-link"]');
    const factLink = wrapper.get('[data-testid="run-trace-link"]');
    expect(timelineLink.attributes('href')).toBe(`/traces/${TRACE_ID}`);
    expect(timelineLink.attributes('target')).toBeUndefined();
    expect(timelineLink.text()).toBe('Open trace');
    expect(factLink.attributes('href')).toBe(`/traces/${TRACE_ID}`);
    expect(factLink.attributes('target')).toBeUndefined();
    expect(factLink.text()).toBe(TRACE_ID);

    await factLink.trigger('click');
    await flush();
    expect(router.currentRoute.value.path).toBe(`/traces/${TRACE_ID}`);
    expect(wrapper.findAll('[data-testid="trace-span"]')).toHaveLength(SPANS.length);
    wrapper.unmount();
  });

  it('an external trace URL still opens in a new tab', async () => {
    const url = `http://grafana.test/explore?traceId=${TRACE_ID}`;
    installFakeFetch({ 'GET /api/runs/8': { body: makeDetail({ id: 8, status: 'completed', traceId: TRACE_ID, traceUrl: url }) } });
    const { wrapper } = await mountAt('/runs/8');
    for (const id of ['timeline-trace-link', 'run-trace-link']) {
      expect(wrapper.get(`[data-testid="${id}"]`).attributes('href')).toBe(url);
      expect(wrapper.get(`[data-testid="${id}"]`).attributes('target')).toBe('_blank');
    }
    wrapper.unmount();
  });
});
