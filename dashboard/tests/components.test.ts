import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick, ref } from 'vue';
import { createPinia, setActivePinia } from 'pinia';
import { mount, RouterLinkStub } from '@vue/test-utils';
import ConnectionIndicator from '@/components/ConnectionIndicator.vue';
import LivePausedBanner from '@/components/LivePausedBanner.vue';
import LiveRunCard from '@/components/LiveRunCard.vue';
import PlatformQualityCell from '@/components/PlatformQualityCell.vue';
import PlatformStep from '@/components/PlatformStep.vue';
import { STEP_FAILURE_REASONS, type PlatformQuality } from '@contract';
import { stepReasonLabel } from '@/lib/status';
import RunProgress from '@/components/RunProgress.vue';
import RunsTable from '@/components/RunsTable.vue';
import { LIVE_STREAM } from '@/composables/liveStream';
import { nowClockStats, useNow } from '@/composables/useNow';
import { formatClock } from '@/lib/format';
import { useActiveRunStore } from '@/stores/activeRun';
import { useToastsStore } from '@/stores/toasts';
import { makeDetail, makeRun, makeStep } from './helpers/fixtures';
import { apiError, flush, installFakeFetch } from './helpers/fakeFetch';

const global = { stubs: { RouterLink: RouterLinkStub } };
/** What App.vue provides (useLiveSync's `live`), as plain refs a test can move. */
function liveStream(overrides: Partial<Record<'state' | 'nextRetryAt' | 'pausedSince' | 'asOf', unknown>> = {}) {
  return {
    state: ref(overrides.state ?? 'connected'),
    lastError: ref(null),
    retryCount: ref(0),
    nextRetryAt: ref(overrides.nextRetryAt ?? null),
    pausedSince: ref((overrides.pausedSince as number | null | undefined) ?? null),
    asOf: ref((overrides.asOf as number | null | undefined) ?? null),
    reconnect: vi.fn(),
  };
}
/** A tab whose live stream is connected (App.vue provides the real one). */
const connected = {
  ...global,
  provide: {
    [LIVE_STREAM as symbol]: liveStream(),
  },
};

beforeEach(() => {
  setActivePinia(createPinia());
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PlatformStep', () => {
  const now = Date.parse('2026-01-27T16:00:10.000Z');

  it('waiting, active (spinner + elapsed), done (events + duration), failed (error), skipped', () => {
    const waiting = mount(PlatformStep, { props: { step: makeStep('alpha'), now } });
    expect(waiting.attributes('data-step-status')).toBe('pending');
    expect(waiting.text()).toContain('Waiting');

    const active = mount(PlatformStep, {
      props: { step: makeStep('bravo', { status: 'running', eventsFound: 4 }), now, anchor: { elapsedMs: 3000, receivedAt: now - 2000 } },
    });
    expect(active.attributes('data-platform')).toBe('bravo');
    expect(active.find('.spinner').exists()).toBe(true);
    expect(active.get('[data-testid="step-elapsed"]').text()).toBe('0:05');
    expect(active.text()).toContain('4 events so far');

    const done = mount(PlatformStep, { props: { step: makeStep('charlie', { status: 'completed', eventsFound: 31, durationMs: 2400 }), now } });
    expect(done.get('[data-testid="step-events"]').text()).toBe('31 events');
    expect(done.get('[data-testid="step-duration"]').text()).toBe('2.4 s');

    const failed = mount(PlatformStep, { props: { step: makeStep('delta', { status: 'failed', error: 'timeout after 10000 ms', durationMs: 10000 }), now } });
    expect(failed.attributes('data-step-status')).toBe('failed');
    expect(failed.get('[data-testid="step-error"]').text()).toBe('timeout after 10000 ms');
    expect(failed.find('[data-testid="step-reason"]').exists()).toBe(false); // no reason: stopped by its run

    const skipped = mount(PlatformStep, { props: { step: makeStep('echo', { status: 'skipped' }), now } });
    expect(skipped.text()).toContain('Skipped');
  });

  it('a failed step shows why, in words: each reason of the closed set has its own short label', () => {
    const limited = mount(PlatformStep, { props: { step: makeStep('golf', { status: 'failed', error: 'feed answered HTTP 429 on page 1', reason: 'rate_limited', durationMs: 300 }), now } });
    expect(limited.get('[data-testid="step-reason"]').text()).toBe('rate limited (429)');
    expect(limited.get('[data-testid="step-reason"]').attributes('data-reason')).toBe('rate_limited');
    const labels = STEP_FAILURE_REASONS.map((reason) => stepReasonLabel(reason));
    expect(new Set(labels).size).toBe(STEP_FAILURE_REASONS.length);
    expect(stepReasonLabel('blocked')).toBe('blocked (403 or challenge)');
  });

  it('a completed scrape flagged as a volume drop reads "12 events, usually ~48" with a text warning', () => {
    const drop = mount(PlatformStep, {
      props: { step: makeStep('foxtrot', { status: 'completed', eventsFound: 12, durationMs: 900, volumeDrop: true, expectedEvents: 48 }), now },
    });
    expect(drop.get('[data-testid="step-events"]').text()).toBe('12 events, usually ~48');
    // Not by colour alone: an icon and the words "Volume drop".
    expect(drop.get('[data-testid="step-volume-drop"]').text()).toBe('⚠ Volume drop');
    expect(drop.get('[data-testid="step-events"]').classes()).toContain('drop');

    for (const volumeDrop of [false, null]) {
      const usual = mount(PlatformStep, {
        props: { step: makeStep('foxtrot', { status: 'completed', eventsFound: 47, durationMs: 900, volumeDrop, expectedEvents: volumeDrop === false ? 48 : null }), now },
      });
      expect(usual.get('[data-testid="step-events"]').text()).toBe('47 events');
      expect(usual.find('[data-testid="step-volume-drop"]').exists()).toBe(false);
    }
  });

  it('a step with implausible markets says how many, and on the run detail lists the examples as text', () => {
    // As jsonb returns it: keys by length, then alphabetically.
    const example = { reason: 'overround_below_one' as const, eventName: '<b>Arsenal</b> v Benfica', bookmaker: 'redfox', market: 'match_result', prices: { away: 6.4, draw: 11.5, home: 3.2 }, overround: 0.5557 };
    const step = makeStep('redfox', { status: 'completed', eventsFound: 24, durationMs: 900, implausibleMarkets: 7, implausibleExamples: [example] });
    const live = mount(PlatformStep, { props: { step, now } });
    // Not by colour alone: an icon and the words.
    expect(live.get('[data-testid="step-implausible"]').text()).toBe('⚠ 7 implausible markets');
    expect(live.find('[data-testid="step-implausible-examples"]').exists()).toBe(false);

    const detail = mount(PlatformStep, { props: { step, now, detailed: true, runId: 3 } });
    const examples = detail.get('[data-testid="step-implausible-examples"]');
    expect(examples.get('summary').text()).toBe('Implausible markets (first 1 of 7)');
    expect(examples.get('li').text()).toBe('<b>Arsenal</b> v Benfica, redfox, match_result: home 3.2 · draw 11.5 · away 6.4 (overround 0.5557: below 1)');
    expect(examples.find('b').exists()).toBe(false);

    for (const implausibleMarkets of [0, null]) {
      const fine = mount(PlatformStep, { props: { step: makeStep('redfox', { status: 'completed', eventsFound: 24, durationMs: 900, implausibleMarkets }), now, detailed: true, runId: 3 } });
      expect(fine.find('[data-testid="step-implausible"]').exists()).toBe(false);
      expect(fine.find('[data-testid="step-implausible-examples"]').exists()).toBe(false);
    }
  });

  it('a step with a coverage drop names the bookmakers, not by colour alone', () => {
    const step = mount(PlatformStep, { props: { step: makeStep('harborline', { status: 'completed', eventsFound: 6, durationMs: 900, coverageDrops: ['harborline'] }), now } });
    expect(step.get('[data-testid="step-coverage-drop"]').text()).toBe('⚠ Coverage drop: harborline');
    expect(mount(PlatformStep, { props: { step: makeStep('harborline', { status: 'completed', coverageDrops: [] }), now } }).find('[data-testid="step-coverage-drop"]').exists()).toBe(false);
  });

  it('a step whose prices were outliers says how many, in words', () => {
    const step = mount(PlatformStep, { props: { step: makeStep('luckyowl', { status: 'completed', eventsFound: 24, durationMs: 900, outlierPrices: 12 }), now } });
    expect(step.get('[data-testid="step-outliers"]').text()).toBe('⚑ 12 outlier prices');
    for (const outlierPrices of [0, null]) {
      expect(mount(PlatformStep, { props: { step: makeStep('luckyowl', { status: 'completed', outlierPrices }), now } }).find('[data-testid="step-outliers"]').exists()).toBe(false);
    }
  });

  it('a step that found bookmakers frozen names them, not by colour alone', () => {
    const step = mount(PlatformStep, { props: { step: makeStep('oddsline', { status: 'completed', eventsFound: 24, durationMs: 900, frozenBookmakers: ['copperbet', 'tideway'] }), now } });
    expect(step.get('[data-testid="step-frozen"]').text()).toBe('❄ Prices frozen: copperbet, tideway');
    for (const frozenBookmakers of [[], null]) {
      expect(mount(PlatformStep, { props: { step: makeStep('oddsline', { status: 'completed', frozenBookmakers }), now } }).find('[data-testid="step-frozen"]').exists()).toBe(false);
    }
  });

  it('a failed browser step with a capture offers "Page at failure", read when opened: the screenshot, and the HTML as escaped text', async () => {
    const html = '<html><body><b id="bold">Arsenal</b><img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script></body></html>';
    const fake = installFakeFetch({
      'GET /api/runs/7/steps/nightjar/capture': {
        body: {
          runId: 7,
          platform: 'nightjar',
          url: 'https://www.nightjar.example/football/?token=***',
          html,
          htmlTruncated: true,
          screenshotUrl: '/api/runs/7/steps/nightjar/capture/screenshot',
          screenshotDropped: false,
          capturedAt: '2026-01-27T16:00:09.000Z',
        },
      },
    });
    const step = makeStep('nightjar', { status: 'failed', reason: 'layout', error: 'wait for .event-card: not on the page within its timeout', durationMs: 10_000, captured: true });
    const wrapper = mount(PlatformStep, { props: { step, now, detailed: true, runId: 7 } });
    const disclosure = wrapper.get('[data-testid="step-capture"]');
    expect(disclosure.get('summary').text()).toBe('Page at failure');
    expect(fake.calls).toHaveLength(0); // nothing read until it is opened

    (disclosure.element as HTMLDetailsElement).open = true;
    await disclosure.trigger('toggle');
    await flush();
    expect(fake.callsTo('GET', '/api/runs/7/steps/nightjar/capture')).toHaveLength(1);
    const img = wrapper.get('[data-testid="step-capture-screenshot"]');
    expect(img.attributes('src')).toBe('/api/runs/7/steps/nightjar/capture/screenshot');
    expect(img.attributes('alt')).toMatch(/nightjar/);
    expect(img.classes()).toContain('shot');
    const pre = wrapper.get('[data-testid="step-capture-html"]');
    expect(pre.element.tagName).toBe('PRE');
    expect(pre.text()).toBe(html);
    expect(pre.element.children).toHaveLength(0); // text, not markup
    expect(wrapper.find('#bold').exists()).toBe(false);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    expect(wrapper.get('[data-testid="step-capture-truncated"]').text()).toBe(', cut at 256 KiB');
    expect(wrapper.get('[data-testid="step-capture-url"]').text()).toBe('https://www.nightjar.example/football/?token=***');

    // Opened again: the capture is kept, not read twice.
    await disclosure.trigger('toggle');
    await flush();
    expect(fake.callsTo('GET', '/api/runs/7/steps/nightjar/capture')).toHaveLength(1);
    wrapper.unmount();
  });

  it('"Page at failure" says why there is no screenshot, and shows a failed read; none without a capture or off the run page', async () => {
    installFakeFetch({
      'GET /api/runs/8/steps/kestrel/capture': {
        body: { runId: 8, platform: 'kestrel', url: 'https://k.example/', html: '<p>x</p>', htmlTruncated: false, screenshotUrl: null, screenshotDropped: true, capturedAt: '2026-01-27T16:00:09.000Z' },
      },
      'GET /api/runs/9/steps/kestrel/capture': apiError(404, 'not_found', 'a page at failure of platform kestrel in run 9 not found'),
    });
    const open = async (runId: number) => {
      const wrapper = mount(PlatformStep, { props: { step: makeStep('kestrel', { status: 'failed', reason: 'layout', error: 'x', captured: true }), now, detailed: true, runId } });
      const disclosure = wrapper.get('[data-testid="step-capture"]');
      (disclosure.element as HTMLDetailsElement).open = true;
      await disclosure.trigger('toggle');
      await flush();
      return wrapper;
    };
    const dropped = await open(8);
    expect(dropped.find('[data-testid="step-capture-screenshot"]').exists()).toBe(false);
    expect(dropped.get('[data-testid="step-capture-no-screenshot"]').text()).toBe('No screenshot: it was larger than 512 KiB.');
    expect(dropped.find('[data-testid="step-capture-truncated"]').exists()).toBe(false);
    const gone = await open(9);
    expect(gone.get('[data-testid="step-capture-error"]').text()).toContain('not found');

    const failed = { status: 'failed' as const, reason: 'layout' as const, error: 'x' };
    for (const props of [
      { step: makeStep('kestrel', { ...failed, captured: false }), detailed: true, runId: 8 },
      { step: makeStep('kestrel', { ...failed, captured: true }), runId: 8 },
      { step: makeStep('kestrel', { status: 'completed', captured: true }), detailed: true, runId: 8 },
    ]) {
      expect(mount(PlatformStep, { props: { ...props, now } }).find('[data-testid="step-capture"]').exists()).toBe(false);
    }
  });

  it('elapsed time ticks with the shared clock', async () => {
    const step = makeStep('alpha', { status: 'running' });
    const wrapper = mount(PlatformStep, { props: { step, now, anchor: { elapsedMs: 0, receivedAt: now } } });
    expect(wrapper.get('[data-testid="step-elapsed"]').text()).toBe('0:00');
    await wrapper.setProps({ now: now + 65_000 });
    expect(wrapper.get('[data-testid="step-elapsed"]').text()).toBe('1:05');
  });
});

describe('PlatformQualityCell (the Platforms page\'s data quality at a glance)', () => {
  const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
  const quality = (overrides: Partial<PlatformQuality> = {}): PlatformQuality => ({
    runId: 7,
    marketsChecked: 48,
    implausibleMarkets: 0,
    outlierPrices: 0,
    coverageDrops: [],
    bookmakers: [
      { bookmaker: 'copperbet', lastPriceAt: at(20), stale: false, frozen: false },
      { bookmaker: 'tideway', lastPriceAt: at(3), stale: false, frozen: false },
    ],
    bookmakersTotal: 2,
    ...overrides,
  });
  // Unmounted after each test: a mounted cell keeps the shared clock (useNow) ticking on real timers.
  const mounted: { unmount(): void }[] = [];
  const shown: typeof mount = ((...args: Parameters<typeof mount>) => {
    const wrapper = mount(...args);
    mounted.push(wrapper);
    return wrapper;
  }) as typeof mount;
  afterEach(() => {
    for (const wrapper of mounted.splice(0)) wrapper.unmount();
  });

  it('says "No issues" when nothing is flagged, with the bookmakers and their newest and oldest price', () => {
    const cell = shown(PlatformQualityCell, { props: { quality: quality() }, ...connected });
    expect(cell.get('[data-testid="platform-quality"]').attributes('data-clean')).toBe('true');
    expect(cell.get('[data-testid="quality-clean"]').text()).toBe('✓ No issues');
    expect(cell.get('[data-testid="quality-ages"]').text()).toBe('2 bookmakers · newest price just now, oldest 20s ago');
  });

  it('names each flag in words: implausible, outliers, frozen, coverage drop, and each stale bookmaker with its price age', () => {
    const cell = shown(PlatformQualityCell, {
      props: {
        quality: quality({
          implausibleMarkets: 5,
          outlierPrices: 3,
          coverageDrops: ['copperbet'],
          bookmakers: [
            { bookmaker: 'copperbet', lastPriceAt: at(1), stale: false, frozen: true },
            { bookmaker: 'tideway', lastPriceAt: at(125), stale: true, frozen: false },
          ],
        }),
      },
      ...connected,
    });
    expect(cell.get('[data-testid="platform-quality"]').attributes('data-clean')).toBe('false');
    expect(cell.find('[data-testid="quality-clean"]').exists()).toBe(false);
    expect(cell.get('[data-testid="quality-implausible"]').text()).toBe('⚠ 5 of 48 markets implausible');
    expect(cell.get('[data-testid="quality-outliers"]').text()).toBe('⚑ 3 outlier prices');
    expect(cell.get('[data-testid="quality-frozen"]').text()).toBe('❄ Frozen: copperbet');
    expect(cell.get('[data-testid="quality-coverage-drop"]').text()).toBe('⚠ Coverage drop: copperbet');
    expect(cell.findAll('[data-testid="quality-stale"]').map((flag) => flag.text())).toEqual(['⚠ Stale: tideway, last price 2m ago']);
  });

  it('tells unchecked from clean: checks off, or no completed scrape yet', () => {
    expect(shown(PlatformQualityCell, { props: { quality: null }, ...connected }).text()).toBe('Checks off');
    const unchecked = shown(PlatformQualityCell, { props: { quality: quality({ runId: null, marketsChecked: null, implausibleMarkets: null, outlierPrices: null, coverageDrops: null, bookmakers: [], bookmakersTotal: 0 }) }, ...connected });
    expect(unchecked.text()).toBe('Not checked yet');
    expect(unchecked.get('[data-testid="platform-quality"]').attributes('data-clean')).toBe('unknown');
  });
});

describe('RunProgress', () => {
  it('shows overall progress "n/m platforms", the badge and one row per platform', () => {
    const run = makeDetail({
      id: 8,
      platformsDone: 2,
      platformsTotal: 3,
      steps: [makeStep('alpha', { status: 'completed' }), makeStep('bravo', { status: 'failed', error: 'x' }), makeStep('charlie', { status: 'running' })],
    });
    const wrapper = mount(RunProgress, { props: { run }, global });
    expect(wrapper.get('[data-testid="run-progress-text"]').text()).toBe('2/3 platforms');
    expect(wrapper.get('[data-testid="status-badge"]').attributes('data-status')).toBe('running');
    expect(wrapper.findAll('[data-testid="platform-step"]').map((s) => s.attributes('data-step-status'))).toEqual(['completed', 'failed', 'running']);
    wrapper.unmount();
  });
});

describe('useNow: one shared clock', () => {
  it('many ticking components use a single interval, stopped when the last one goes', () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setInterval');
    const run = makeDetail({ steps: [makeStep('alpha', { status: 'running' }), makeStep('bravo', { status: 'running' })] });
    const a = mount(RunProgress, { props: { run }, global });
    const b = mount(RunProgress, { props: { run }, global });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(nowClockStats()).toEqual({ running: true, users: 2 });
    a.unmount();
    expect(nowClockStats().running).toBe(true);
    b.unmount();
    expect(nowClockStats()).toEqual({ running: false, users: 0 });
    expect(typeof useNow().value).toBe('number');
  });
});

describe('ConnectionIndicator', () => {
  const base = { lastError: null, retryCount: 0, nextRetryAt: null, now: 0 };

  it.each([
    ['connected', 'Live'],
    ['connecting', 'Connecting…'],
    ['disconnected', 'Offline'],
    ['error', 'Disconnected'],
  ] as const)('%s has data-state and a text label (%s), not only a colour', (state, label) => {
    const w = mount(ConnectionIndicator, { props: { ...base, state } });
    expect(w.attributes('data-state')).toBe(state);
    expect(w.get('[data-testid="connection-label"]').text()).toBe(label);
    expect(w.find('[data-testid="connection-retry"]').exists()).toBe(state === 'error');
  });

  it('tooltip carries the last error and retry count; Retry emits reconnect', async () => {
    const w = mount(ConnectionIndicator, { props: { ...base, state: 'error', lastError: 'Could not connect', retryCount: 12 } });
    expect(w.attributes('title')).toContain('Could not connect');
    expect(w.attributes('title')).toContain('retries: 12'); // no budget: retries never run out
    expect(w.attributes('title')).not.toContain('/');
    await w.get('button').trigger('click');
    expect(w.emitted('reconnect')).toHaveLength(1);
  });

  it('while waiting for the next retry it counts down (for the eye: screen readers get the steadier title)', () => {
    const w = mount(ConnectionIndicator, { props: { ...base, state: 'disconnected', retryCount: 3, nextRetryAt: 8000, now: 0 } });
    expect(w.text()).toContain('Reconnecting in 8s');
    expect(w.attributes('data-next-retry-at')).toBe('8000');
    expect(w.get('[data-testid="connection-label"]').attributes('aria-hidden')).toBe('true');
    expect(w.get('.visually-hidden').text()).toBe('Live updates: disconnected · retries: 3');
  });
});

describe('while live updates are paused', () => {
  const T0 = Date.parse('2026-01-27T16:00:00.000Z');
  const running = () =>
    makeDetail({
      id: 27,
      status: 'running',
      startedAt: new Date(T0 - 10_000).toISOString(),
      steps: [makeStep('alpha', { status: 'completed' }), makeStep('bravo', { status: 'running', startedAt: new Date(T0 - 4_000).toISOString() })],
    });

  it('the run clock and the running step stop at the moment the figures were current, marked "as of"; they go on once live', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
    const stream = liveStream();
    const w = mount(RunProgress, { props: { run: running() }, global: { ...global, provide: { [LIVE_STREAM as symbol]: stream } } });
    const elapsed = () => w.get('[data-testid="run-elapsed"]').text();
    const step = () => w.get('[data-platform="bravo"] [data-testid="step-elapsed"]').text();
    expect(elapsed()).toBe('running for 0:10');
    await vi.advanceTimersByTimeAsync(5_000);
    expect([elapsed(), step()]).toEqual(['running for 0:15', '0:09']);
    expect(w.find('[data-testid="as-of"]').exists()).toBe(false);

    stream.asOf.value = Date.now(); // the stream is lost now
    stream.pausedSince.value = Date.now();
    await vi.advanceTimersByTimeAsync(20_000);
    expect([elapsed(), step()]).toEqual(['running for 0:15', '0:09']);
    const asOf = w.get('[data-testid="as-of"]');
    expect(asOf.text()).toBe(`as of ${formatClock(T0 + 5_000)}`);
    expect(asOf.attributes('data-as-of')).toBe(new Date(T0 + 5_000).toISOString());

    stream.pausedSince.value = null; // live again
    await vi.advanceTimersByTimeAsync(1_000);
    expect([elapsed(), step()]).toEqual(['running for 0:36', '0:30']);
    expect(w.find('[data-testid="as-of"]').exists()).toBe(false);
    w.unmount();
  });

  it('a finished run is final: no "as of" on it', () => {
    const stream = liveStream({ pausedSince: T0, asOf: T0 });
    const done = makeDetail({ id: 26, status: 'completed', durationMs: 4_000 });
    const w = mount(RunProgress, { props: { run: done }, global: { ...global, provide: { [LIVE_STREAM as symbol]: stream } } });
    expect(w.get('[data-testid="run-elapsed"]').text()).toBe('took 4.0 s');
    expect(w.find('[data-testid="as-of"]').exists()).toBe(false);
    w.unmount();
  });

  it('the banner says paused since when and as of when (an alert), counts down to the next try outside the alert, and reconnects on demand', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(T0 + 9_000);
    const stream = liveStream({ state: 'disconnected', pausedSince: T0 + 2_000, asOf: T0 + 1_000, nextRetryAt: T0 + 16_000 });
    const w = mount(LivePausedBanner, { global: { provide: { [LIVE_STREAM as symbol]: stream } } });
    const banner = w.get('[data-testid="live-paused-banner"]');
    expect(banner.attributes('data-since')).toBe(new Date(T0 + 2_000).toISOString());
    const alert = banner.get('[role="alert"]');
    expect(alert.text().replace(/\s+/g, ' ')).toBe(
      `Live updates paused since ${formatClock(T0 + 2_000)}. Figures on this page are as of ${formatClock(T0 + 1_000)} and are not updating.`,
    );
    const retry = () => banner.get('[data-testid="live-paused-retry"]');
    expect(retry().text()).toBe('Reconnecting automatically: next try in 7s, or as soon as the service answers.');
    expect(alert.find('[data-testid="live-paused-retry"]').exists()).toBe(false);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(retry().text()).toContain('next try in 4s');

    await banner.get('[data-testid="live-paused-reconnect"]').trigger('click');
    expect(stream.reconnect).toHaveBeenCalledTimes(1);
    stream.state.value = 'connecting';
    await nextTick();
    expect(retry().text()).toBe('Reconnecting now…');
    expect(banner.get('[data-testid="live-paused-reconnect"]').attributes('disabled')).toBeDefined();

    stream.pausedSince.value = null;
    await nextTick();
    expect(w.find('[data-testid="live-paused-banner"]').exists()).toBe(false);
    w.unmount();
  });

  it('"as of" shows the date too when it is not today', () => {
    const noon = new Date(2026, 0, 27, 12, 0, 0).getTime();
    expect(formatClock(noon - 3_600_000, noon)).not.toMatch(/Jan/);
    expect(formatClock(noon - 24 * 3_600_000, noon)).toMatch(/Jan/);
  });
});

describe('RunsTable', () => {
  it('one row per run with data-run-id, badge, trigger, ok/failed and events', () => {
    const runs = [
      makeRun({ id: 12, status: 'partial', trigger: 'scheduled', platformsSucceeded: 2, platformsFailed: 1, eventsFound: 77, durationMs: 61_000 }),
      makeRun({ id: 11, status: 'connection_failed', failureReason: 'connection_lost', trigger: 'api-stream' }),
    ];
    const w = mount(RunsTable, { props: { runs }, global });
    const rows = w.findAll('[data-testid="run-row"]');
    expect(rows.map((r) => r.attributes('data-run-id'))).toEqual(['12', '11']);
    expect(rows[0]!.get('[data-testid="run-row-platforms"]').text()).toMatch(/^2\s*\/\s*1/);
    expect(rows[0]!.get('[data-testid="run-row-events"]').text()).toBe('77');
    expect(rows[0]!.text()).toContain('1m 1s');
    expect(rows[1]!.get('[data-testid="status-badge"]').text()).toBe('Connection lost');
    w.unmount();
  });
});

describe('Scrape now', () => {
  it('starts an observed run while the stream is connected and shows it live', async () => {
    const fake = installFakeFetch({ 'POST /api/runs': { status: 202, body: makeDetail({ id: 30, status: 'pending', trigger: 'api-stream' }) } });
    const w = mount(LiveRunCard, { global: connected });
    await w.get('[data-testid="scrape-now"]').trigger('click');
    await flush();
    expect(fake.calls[0]!.body).toEqual({ observe: true });
    expect(w.get('[data-testid="live-run-panel"]').attributes('data-run-id')).toBe('30');
    expect(w.findAll('[data-testid="platform-step"]')).toHaveLength(3);
    w.unmount();
  });

  it('offers Cancel beside Scrape now while a run is live, and shows the run Cancelled once the server says so', async () => {
    const live = makeDetail({ id: 31, status: 'running', trigger: 'api-stream' });
    const fake = installFakeFetch({
      'POST /api/runs': { status: 202, body: live },
      'POST /api/runs/31/cancel': { body: makeDetail({ id: 31, status: 'cancelled', trigger: 'api-stream', finishedAt: '2026-01-27T16:00:09.000Z' }) },
    });
    const w = mount(LiveRunCard, { global: connected });
    expect(w.find('[data-testid="live-run-cancel"]').exists()).toBe(false);
    await w.get('[data-testid="scrape-now"]').trigger('click');
    await flush();
    await w.get('[data-testid="live-run-cancel"]').trigger('click');
    await flush();
    expect(fake.callsTo('POST', '/api/runs/31/cancel')).toHaveLength(1);
    expect(useActiveRunStore().run?.status).toBe('cancelled');
    expect(w.find('[data-testid="live-run-cancel"]').exists()).toBe(false);
    expect(useToastsStore().items.at(-1)?.message).toBe('Cancelled run #31.');
    w.unmount();
  });

  it('on 409 run_active it shows and follows the active run', async () => {
    installFakeFetch({
      'POST /api/runs': apiError(409, 'run_active', 'A run is already active', { activeRunId: 27 }),
      'GET /api/runs/27': { body: makeDetail({ id: 27, trigger: 'scheduled', platformsDone: 1 }) },
    });
    const w = mount(LiveRunCard, { global: connected });
    await w.get('[data-testid="scrape-now"]').trigger('click');
    await flush();
    expect(useActiveRunStore().run?.id).toBe(27);
    expect(w.get('[data-testid="run-progress-text"]').text()).toBe('1/3 platforms');
    expect(useToastsStore().items.at(-1)?.message).toBe('Run #27 is already in progress; showing it.');
    w.unmount();
  });
});
