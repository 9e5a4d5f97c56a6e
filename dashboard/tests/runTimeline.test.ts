/** The run waterfall (RunTimeline): bars on one axis, outcomes marked beyond colour, the lost moment, live growth. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mount } from '@vue/test-utils';
import RunTimeline from '@/components/RunTimeline.vue';
import { buildTimeline, tickStep } from '@/lib/timeline';
import { makeDetail, makeStep } from './helpers/fixtures';

afterEach(() => {
  vi.useRealTimers();
});

const START = '2026-01-27T16:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(START) + ms).toISOString();

const lostRun = makeDetail({
  id: 41,
  status: 'connection_failed',
  failureReason: 'connection_lost',
  platforms: ['alpha', 'bravo', 'charlie', 'delta'],
  startedAt: START,
  finishedAt: at(8000),
  steps: [
    makeStep('alpha', { status: 'completed', eventsFound: 31, startedAt: at(0), finishedAt: at(2400), durationMs: 2400 }),
    makeStep('bravo', { status: 'failed', error: 'HTTP 503', startedAt: at(500), finishedAt: at(1500), durationMs: 1000 }),
    makeStep('charlie', { status: 'failed', error: 'timed out after 5000 ms', eventsFound: 4, startedAt: at(2400), finishedAt: at(7400), durationMs: 5000 }),
    makeStep('delta', { status: 'skipped' }),
  ],
});

describe('RunTimeline', () => {
  it('draws one row per platform and one bar per started platform, from its start to its end on one axis', () => {
    const w = mount(RunTimeline, { props: { run: lostRun } });
    expect(w.get('[data-testid="run-timeline"]').attributes('data-span-ms')).toBe('8000');
    const rows = w.findAll('[data-testid="timeline-row"]');
    expect(rows.map((r) => [r.attributes('data-platform'), r.attributes('data-outcome')])).toEqual([
      ['alpha', 'completed'],
      ['bravo', 'failed'],
      ['charlie', 'timed_out'],
      ['delta', 'skipped'],
    ]);
    const bars = w.findAll('[data-testid="timeline-bar"]');
    expect(bars).toHaveLength(3);
    const style = (i: number) => bars[i]!.attributes('style');
    expect(style(0)).toContain('left: 0%');
    expect(style(0)).toContain('width: 30%');
    expect(style(1)).toContain('left: 6.25%');
    expect(style(2)).toContain('left: 30%');
    expect(style(2)).toContain('width: 62.5%');
    expect(rows[3]!.text()).toContain('not scraped');
    w.unmount();
  });

  it('marks failed and timed-out bars by glyph and text, not only colour, and marks when the connection was lost', () => {
    const w = mount(RunTimeline, { props: { run: lostRun } });
    const row = (p: string) => w.get(`[data-testid="timeline-row"][data-platform="${p}"]`);
    expect(row('bravo').get('.glyph').text()).toBe('✕');
    expect(row('bravo').get('.value').text()).toBe('Failed');
    expect(row('charlie').get('.glyph').text()).toBe('!');
    expect(row('charlie').get('.value').text()).toBe('Timed out');
    expect(row('alpha').get('.value').text()).toBe('2.4 s');
    const marker = w.get('[data-testid="timeline-marker"]');
    expect(marker.attributes('data-reason')).toBe('connection_lost');
    expect(marker.text()).toBe('▲ Connection lost at +8.0 s');
    expect(w.findAll('.marker-line')).toHaveLength(4); // across every row, at the same place
    w.unmount();
  });

  it('every bar is keyboard-focusable and its tooltip, shown on focus, names events found and duration', async () => {
    const w = mount(RunTimeline, { props: { run: lostRun } });
    const bar = w.get('[data-platform="charlie"] [data-testid="timeline-bar"]');
    expect(bar.attributes('tabindex')).toBe('0');
    const text = 'charlie: Timed out · 4 sporting events · took 5.0 s · started at +2.4 s · timed out after 5000 ms';
    expect(bar.attributes('aria-label')).toBe(text);
    const tip = w.get('[data-platform="charlie"] [data-testid="timeline-tip"]');
    expect(tip.text()).toBe(text);
    const shown = () => !(tip.attributes('style') ?? '').includes('display: none');
    expect(shown()).toBe(false);
    await bar.trigger('focus');
    expect(shown()).toBe(true);
    await bar.trigger('blur');
    expect(shown()).toBe(false);
    w.unmount();
  });

  it('names the replica of each step: in every tooltip, and on the row once the run was spread over several', () => {
    const A = '1f0c2a9e-0000-4000-8000-00000000000a';
    const B = '7d41b3c2-0000-4000-8000-00000000000b';
    const steps = (second: string) => [
      makeStep('alpha', { status: 'completed', eventsFound: 3, startedAt: at(0), finishedAt: at(900), durationMs: 900, replica: A }),
      makeStep('bravo', { status: 'completed', eventsFound: 2, startedAt: at(100), finishedAt: at(800), durationMs: 700, replica: second }),
      makeStep('charlie', { status: 'pending' }),
    ];
    const one = mount(RunTimeline, { props: { run: makeDetail({ startedAt: START, finishedAt: at(1000), platforms: ['alpha', 'bravo', 'charlie'], steps: steps(A) }) } });
    expect(one.findAll('[data-testid="timeline-row"]').map((row) => row.attributes('data-replica') ?? null)).toEqual(['1f0c2a9e', '1f0c2a9e', null]);
    expect(one.find('[data-testid="timeline-replica"]').exists()).toBe(false);
    expect(one.get('[data-testid="timeline-bar"]').attributes('aria-label')).toMatch(/ · on replica 1f0c2a9e$/);
    const spread = mount(RunTimeline, { props: { run: makeDetail({ startedAt: START, finishedAt: at(1000), platforms: ['alpha', 'bravo', 'charlie'], steps: steps(B) }) } });
    expect(spread.findAll('[data-testid="timeline-replica"]').map((tag) => tag.text())).toEqual(['1f0c2a9e', '7d41b3c2']);
    one.unmount();
    spread.unmount();
  });

  it('marks a step scraped again after its replica died with its attempt, on the row and in its tooltip', () => {
    const run = makeDetail({
      startedAt: START,
      finishedAt: at(1000),
      platforms: ['alpha', 'bravo'],
      steps: [
        makeStep('alpha', { status: 'completed', eventsFound: 3, startedAt: at(0), finishedAt: at(900), durationMs: 900, replica: 'aaaaaaaa-1', attempt: 1 }),
        makeStep('bravo', { status: 'completed', eventsFound: 2, startedAt: at(400), finishedAt: at(950), durationMs: 550, replica: 'bbbbbbbb-2', attempt: 2 }),
      ],
    });
    const w = mount(RunTimeline, { props: { run } });
    expect(w.findAll('[data-testid="timeline-attempt"]').map((tag) => tag.text())).toEqual(['attempt 2']);
    expect(w.findAll('[data-testid="timeline-row"]')[1]!.find('[data-testid="timeline-attempt"]').exists()).toBe(true);
    expect(w.findAll('[data-testid="timeline-bar"]')[1]!.attributes('aria-label')).toContain('attempt 2: scraped again after the replica scraping it stopped');
    expect(w.findAll('[data-testid="timeline-bar"]')[0]!.attributes('aria-label')).not.toContain('attempt');
    w.unmount();
  });

  it('a stale run is marked as stale; a completed run has no marker', () => {
    const stale = mount(RunTimeline, { props: { run: { ...lostRun, status: 'failed', failureReason: 'stale' } } });
    expect(stale.get('[data-testid="timeline-marker"]').text()).toContain('Stale');
    const done = mount(RunTimeline, { props: { run: { ...lostRun, status: 'completed', failureReason: null } } });
    expect(done.find('[data-testid="timeline-marker"]').exists()).toBe(false);
    stale.unmount();
    done.unmount();
  });

  it('while the run goes, a running bar grows with the shared clock', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date(at(3000)));
    const live = makeDetail({
      id: 50,
      status: 'running',
      startedAt: START,
      steps: [
        makeStep('alpha', { status: 'completed', startedAt: at(0), finishedAt: at(1000), durationMs: 1000 }),
        makeStep('bravo', { status: 'running', eventsFound: 2, startedAt: at(1000) }),
        makeStep('charlie'),
      ],
    });
    // The running step last reported 1.5 s elapsed, received 0.5 s ago (local clock): it has run 2 s.
    const anchors = { bravo: { elapsedMs: 1500, receivedAt: Date.now() - 500 } };
    const w = mount(RunTimeline, { props: { run: live, anchors } });
    const bravo = () => w.get('[data-platform="bravo"] [data-testid="timeline-bar"]');
    expect(bravo().attributes('aria-label')).toContain('running for 2.0 s');
    expect(w.get('[data-platform="charlie"]').text()).toContain('waiting');
    await vi.advanceTimersByTimeAsync(4000);
    expect(bravo().attributes('aria-label')).toContain('running for 6.0 s');
    expect(bravo().attributes('aria-label')).toContain('2 sporting events so far');
    expect(w.get('[data-testid="run-timeline"]').attributes('data-span-ms')).toBe('8000');
    w.unmount();
  });
});

describe('timeline axis', () => {
  it('picks at most six ticks of a round step', () => {
    expect([900, 3000, 8000, 45_000, 200_000].map(tickStep)).toEqual([200, 500, 2000, 10_000, 60_000]);
    const t = buildTimeline(lostRun, Date.parse(at(9000)));
    expect(t.ticks).toEqual([0, 2000, 4000, 6000, 8000]);
  });
});
