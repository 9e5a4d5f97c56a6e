/** Charts that can be read: axes or labelled extremes, and a point's value on hover and on keyboard focus. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { mount } from '@vue/test-utils';
import type { PlatformScrape, RunHistoryPoint } from '@contract';
import TrendChart from '@/components/TrendChart.vue';
import { keyStep, nearestIndex, place, runPoints, scrapePoints, summarise, timeExtremes } from '@/lib/chart';
import type { ChartPoint } from '@/lib/chart';
import { formatDuration } from '@/lib/format';

beforeEach(() => {
  setActivePinia(createPinia());
});

const T0 = Date.parse('2026-01-27T16:00:00.000Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

function scrape({ runId, durationMs, outcome = 'completed', offsetMs = runId * 30_000 }: { runId: number; durationMs: number; outcome?: PlatformScrape['outcome']; offsetMs?: number }): PlatformScrape {
  return { runId, startedAt: null, finishedAt: at(offsetMs), durationMs, eventsFound: outcome === 'completed' ? 12 : 0, outcome, hasError: outcome !== 'completed', error: outcome === 'completed' ? null : 'feed answered HTTP 503', reason: outcome === 'completed' ? null : 'http_5xx', volumeDrop: null };
}

const SCRAPES = [scrape({ runId: 1, durationMs: 800 }), scrape({ runId: 2, durationMs: 1200, outcome: 'failed' }), scrape({ runId: 3, durationMs: 2400 }), scrape({ runId: 4, durationMs: 600 })];
const durations = () => scrapePoints(SCRAPES, 'durationMs');
/** The local time as the axes print it (24-hour clock), to compare without depending on the test's time zone. */
const clock = (iso: string, seconds = true) =>
  new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hourCycle: 'h23' }).format(Date.parse(iso));

describe('chart layout (lib/chart)', () => {
  it('keeps room for the time axis under the baseline', () => {
    const { placed, baseline, max } = place(durations(), { width: 400, height: 186, pad: 12, left: 44, bottom: 16 });
    expect(baseline).toBe(186 - 12 - 16);
    expect(max).toBe(2400);
    expect(placed[2]!.y).toBe(12); // the maximum at the top of the plot
    expect(placed[3]!.y).toBeCloseTo(baseline - (600 / 2400) * (baseline - 12));
    expect(placed.map((p) => p.at)).toEqual(SCRAPES.map((s) => s.finishedAt));
  });

  it('labels the time extremes with seconds within 10 minutes, minutes within a day, dates beyond', () => {
    expect(timeExtremes(durations())).toEqual({ start: clock(SCRAPES[0]!.finishedAt), end: clock(SCRAPES[3]!.finishedAt) });
    const hours = [scrape({ runId: 1, durationMs: 1, outcome: 'completed', offsetMs: 0 }), scrape({ runId: 2, durationMs: 1, outcome: 'completed', offsetMs: 3 * 3_600_000 })].map((s) => ({ ...scrapePoints([s], 'durationMs')[0]! }));
    expect(timeExtremes(hours)).toEqual({ start: clock(at(0), false), end: clock(at(3 * 3_600_000), false) });
    const days = [scrape({ runId: 1, durationMs: 1, outcome: 'completed', offsetMs: 0 }), scrape({ runId: 2, durationMs: 1, outcome: 'completed', offsetMs: 3 * 86_400_000 })].flatMap((s) => scrapePoints([s], 'durationMs'));
    const range = timeExtremes(days)!;
    expect(range.start).not.toMatch(/:/);
    expect(range.end).toBe(new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }).format(T0 + 3 * 86_400_000));
    expect(timeExtremes([])).toBeNull();
  });

  it('the summary names the time span; run points carry their finish time', () => {
    expect(summarise(durations(), 'Scrape duration', formatDuration)).toMatch(
      new RegExp(`^Scrape duration, last 4: latest 600 ms, median 1\\.2 s, max 2\\.4 s, 1 failure, from ${clock(SCRAPES[0]!.finishedAt)} to ${clock(SCRAPES[3]!.finishedAt)}$`),
    );
    const run: RunHistoryPoint = { id: 7, status: 'partial', trigger: 'api', failureReason: null, startedAt: at(0), finishedAt: at(5_000), durationMs: 5_000 };
    expect(runPoints([run])[0]).toMatchObject({ id: 7, at: at(5_000), value: 5_000, kind: 'warn' });
  });

  it('a cancelled run is its own kind of point, not a failure', () => {
    const runs: RunHistoryPoint[] = [
      { id: 8, status: 'cancelled', trigger: 'api', failureReason: null, startedAt: at(0), finishedAt: at(3_000), durationMs: 3_000 },
      { id: 9, status: 'failed', trigger: 'api', failureReason: 'all_platforms_failed', startedAt: at(0), finishedAt: at(4_000), durationMs: 4_000 },
    ];
    const points = runPoints(runs);
    expect(points.map((point) => point.kind)).toEqual(['stopped', 'failed']);
    expect(points[0]!.label).toMatch(/cancelled$/);
    expect(summarise(points, 'Run duration', formatDuration)).toMatch(/, 1 failure,/);
  });

  it('picks the point nearest the pointer, and steps with the keys (from nothing: the newest)', () => {
    const { placed } = place(durations(), { width: 400, height: 100, pad: 10 });
    expect(nearestIndex(placed, 0)).toBe(0);
    expect(nearestIndex(placed, placed[2]!.x + 3)).toBe(2);
    expect(nearestIndex(placed, 10_000)).toBe(3);
    expect(nearestIndex([], 5)).toBe(-1);

    expect(keyStep('ArrowLeft', null, 4)).toBe(3);
    expect(keyStep('ArrowRight', null, 4)).toBe(3);
    expect(keyStep('ArrowLeft', 2, 4)).toBe(1);
    expect(keyStep('ArrowLeft', 0, 4)).toBe(0);
    expect(keyStep('ArrowRight', 3, 4)).toBe(3);
    expect(keyStep('ArrowDown', 2, 4)).toBe(1);
    expect(keyStep('ArrowUp', 2, 4)).toBe(3);
    expect(keyStep('Home', 2, 4)).toBe(0);
    expect(keyStep('End', 0, 4)).toBe(3);
    expect(keyStep('Escape', 2, 4)).toBeNull();
    expect(keyStep('Tab', 2, 4)).toBeUndefined();
    expect(keyStep('ArrowLeft', null, 0)).toBeUndefined();
  });
});

function mountChart(points: ChartPoint[], props: Partial<InstanceType<typeof TrendChart>['$props']> = {}) {
  return mount(TrendChart, { props: { points, label: 'Scrape duration summary', format: formatDuration, ...props }, attachTo: document.body });
}

describe('TrendChart', () => {
  it('a bigger chart labels its value axis (0 and the maximum) and its time axis (first and last point)', () => {
    const w = mountChart(durations());
    expect(w.get('[data-testid="chart-axis-max"]').text()).toBe('2.4 s');
    expect(w.findAll('text').map((t) => t.text())).toContain('0');
    expect(w.get('[data-testid="chart-axis-start"]').text()).toBe(clock(SCRAPES[0]!.finishedAt));
    expect(w.get('[data-testid="chart-axis-end"]').text()).toBe(clock(SCRAPES[3]!.finishedAt));
    expect(w.find('[data-testid="chart-tip"]').exists()).toBe(false);
    // The chart is one focusable image named by its summary, with a hint on how to read each point.
    const svg = w.get('svg[role="img"]');
    expect(svg.attributes('tabindex')).toBe('0');
    expect(svg.attributes('aria-label')).toBe('Scrape duration summary');
    expect(document.getElementById(svg.attributes('aria-describedby')!)?.textContent).toMatch(/Arrow keys/);
    w.unmount();
  });

  it('on keyboard focus shows the newest point, arrows and Home/End move, Escape and blur hide; a live region reads it', async () => {
    const w = mountChart(durations());
    const svg = w.get('svg[role="img"]');
    const tip = () => w.find('[data-testid="chart-tip"]');
    const live = () => w.get('[aria-live="polite"]').text();
    await svg.trigger('focus');
    expect(tip().attributes('data-id')).toBe('4');
    expect(tip().text()).toBe(durations()[3]!.label);
    expect(live()).toBe(durations()[3]!.label);
    await svg.trigger('keydown', { key: 'ArrowLeft' });
    await svg.trigger('keydown', { key: 'ArrowLeft' });
    expect(tip().attributes('data-id')).toBe('2');
    expect(tip().text()).toContain('1.2 s, failed');
    expect(w.get('[data-testid="chart-point"][data-id="2"]').classes()).toContain('active');
    await svg.trigger('keydown', { key: 'Home' });
    expect(tip().attributes('data-id')).toBe('1');
    await svg.trigger('keydown', { key: 'End' });
    expect(tip().attributes('data-id')).toBe('4');
    await svg.trigger('keydown', { key: 'Escape' });
    expect(tip().exists()).toBe(false);
    await svg.trigger('keydown', { key: 'ArrowLeft' });
    expect(tip().attributes('data-id')).toBe('4');
    await svg.trigger('blur');
    expect(tip().exists()).toBe(false);
    expect(live()).toBe('');
    w.unmount();
  });

  it('on hover shows the point under the pointer, and hides it when the pointer leaves', async () => {
    const w = mountChart(durations());
    const svg = w.get('svg[role="img"]');
    // happy-dom lays nothing out: the SVG is 640 px wide, as its viewBox.
    (svg.element as SVGSVGElement).getBoundingClientRect = () => ({ left: 0, top: 0, right: 640, bottom: 186, width: 640, height: 186, x: 0, y: 0, toJSON: () => ({}) });
    const { placed } = place(durations(), { width: 640, height: 186, pad: 12, left: 44, bottom: 16 });
    await svg.trigger('pointermove', { clientX: placed[2]!.x + 4 });
    expect(w.get('[data-testid="chart-tip"]').attributes('data-id')).toBe('3');
    expect(w.get('[data-testid="chart-tip"]').text()).toContain('2.4 s, completed');
    await svg.trigger('pointermove', { clientX: 1 });
    expect(w.get('[data-testid="chart-tip"]').attributes('data-id')).toBe('1');
    await svg.trigger('pointerleave');
    expect(w.find('[data-testid="chart-tip"]').exists()).toBe(false);
    w.unmount();
  });

  it('a sparkline labels its maximum and time span, and reads the focused point as time and value', async () => {
    const w = mountChart(durations(), { size: 'spark', caption: 'duration' });
    expect(w.get('.spark-head').text()).toMatch(/^duration\s*max 2\.4 s$/);
    expect(w.get('[data-testid="chart-axis-start"]').text()).toBe(clock(SCRAPES[0]!.finishedAt));
    expect(w.get('[data-testid="chart-axis-end"]').text()).toBe(clock(SCRAPES[3]!.finishedAt));
    const svg = w.get('svg[role="img"]');
    await svg.trigger('focus');
    await svg.trigger('keydown', { key: 'ArrowLeft' });
    await svg.trigger('keydown', { key: 'ArrowLeft' });
    expect(w.get('[data-testid="chart-tip"]').text()).toBe(`${clock(SCRAPES[1]!.finishedAt)} · 1.2 s ✕`);
    expect(w.find('[data-testid="chart-axis-start"]').exists()).toBe(false); // the readout takes the axis line's place
    expect(w.get('[aria-live="polite"]').text()).toBe(durations()[1]!.label);
    w.unmount();
  });
});
