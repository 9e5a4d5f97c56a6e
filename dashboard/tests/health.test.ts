/**
 * "Which bookmaker is failing and why": the failure rate over the last scrapes and the last error on the bookmakers
 * card and the bookmaker page (kept current from the stream), and the failed platforms of each run row.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { mount, RouterLinkStub } from '@vue/test-utils';
import { createMemoryHistory, createRouter } from 'vue-router';
import { defineComponent, h } from 'vue';
import { RouterView } from 'vue-router';
import { FAILURE_RATE_WINDOW } from '@contract';
import type { PlatformHistory, PlatformInfo, PlatformScrape, StreamEvent } from '@contract';
import PlatformsCard from '@/components/PlatformsCard.vue';
import RunsTable from '@/components/RunsTable.vue';
import { applyRunEvent, toEntry } from '@/lib/runEvents';
import { failureRateText, withScrape, NO_HEALTH } from '@/lib/health';
import { routes } from '@/router';
import { usePlatformsStore } from '@/stores/platforms';
import { ev, makeDetail, makeRun, makeStep } from './helpers/fixtures';
import { flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => {
  setActivePinia(createPinia());
});

const ERROR = { message: 'feed answered HTTP 503 on page 1', at: '2026-01-27T15:58:00.000Z', runId: 41, outcome: 'failed' as const, reason: 'http_5xx' as const };

function info(name: string, overrides: Partial<PlatformInfo> = {}): PlatformInfo {
  return {
    name,
    kind: 'feed',
    baseUrl: `http://feeds.test/${name}`,
    timeoutMs: 30_000,
    lastOutcome: 'completed',
    lastRunId: 42,
    lastFinishedAt: '2026-01-27T15:59:00.000Z',
    lastSuccessAt: '2026-01-27T15:59:00.000Z',
    lastEventsFound: 12,
    quotaRemaining: null,
    quality: null,
    ...NO_HEALTH,
    ...overrides,
  };
}

const ITEMS = [
  info('alpha', { recentOutcomes: ['completed', 'failed', 'completed', 'timeout'], recentFailures: 2, failureRate: 0.5, lastError: ERROR, lastOutcome: 'failed' }),
  info('bravo', { recentOutcomes: ['completed', 'completed'], recentFailures: 0, failureRate: 0, lastError: { ...ERROR, message: 'connection refused', runId: 3 } }),
  info('charlie', { lastOutcome: null, lastRunId: null, lastFinishedAt: null, lastSuccessAt: null, lastEventsFound: null }),
];

/** Scrapes of runs 38..41 finish at 15:56..15:59, the last one as the bookmakers card has it. */
function scrape(runId: number, outcome: PlatformScrape['outcome'], error: string | null = null): PlatformScrape {
  return { runId, startedAt: null, finishedAt: `2026-01-27T15:${runId + 18}:00.000Z`, durationMs: 900, eventsFound: 12, outcome, hasError: error !== null, error, reason: error === null ? null : outcome === 'timeout' ? 'timeout' : 'http_5xx', volumeDrop: null };
}

const at = (iso: string) => <T extends StreamEvent>(e: T): T => ({ ...e, at: iso });

describe('failure rate (lib/health)', () => {
  it('counts a new scrape into the last FAILURE_RATE_WINDOW, replaces the same step seen again, and keeps the last error', () => {
    let health = { ...NO_HEALTH };
    expect(failureRateText(health)).toBeNull();
    for (let i = 0; i < FAILURE_RATE_WINDOW; i++) health = withScrape(health, { runId: i, outcome: i === 0 ? 'failed' : 'completed', at: 'x', error: i === 0 ? 'boom' : null, reason: i === 0 ? 'parse' : null });
    expect(health.recentFailures).toBe(1);
    expect(failureRateText(health)).toBe(`1 of last ${FAILURE_RATE_WINDOW} scrapes failed (5%)`);
    // One more pushes the failure out of the window; its error stays the last error.
    health = withScrape(health, { runId: 99, outcome: 'completed', at: 'y', error: null, reason: null });
    expect(health.recentOutcomes).toHaveLength(FAILURE_RATE_WINDOW);
    expect(health).toMatchObject({ recentFailures: 0, failureRate: 0, lastError: { message: 'boom', runId: 0, outcome: 'failed', reason: 'parse' } });
    // The same step seen again (run.finished after platform.failed) replaces itself.
    health = withScrape(health, { runId: 99, outcome: 'timeout', at: 'z', error: 'timed out after 800 ms', reason: 'timeout' }, true);
    expect(health.recentOutcomes).toHaveLength(FAILURE_RATE_WINDOW);
    expect(health).toMatchObject({ recentFailures: 1, lastError: { message: 'timed out after 800 ms', at: 'z', runId: 99, outcome: 'timeout', reason: 'timeout' } });
    expect(failureRateText(withScrape(NO_HEALTH, { runId: 1, outcome: 'failed', at: 'x', error: 'e', reason: 'network' }))).toBe('1 of last 1 scrape failed (100%)');
  });
});

describe('platforms store: health from the stream', () => {
  it('a failed scrape raises the failure rate and becomes the last error; run.finished does not count it twice', async () => {
    const fake = installFakeFetch({ 'GET /api/platforms': { body: { items: ITEMS } } });
    const platforms = usePlatformsStore();
    await platforms.load();
    platforms.applyEvent(at('2026-01-27T16:00:05.000Z')(ev.failed({ id: 1, seq: 1, runId: 50, platform: 'bravo', platformsDone: 1, error: 'feed answered HTTP 500 on page 2', reason: 'http_5xx' })));
    const bravo = () => platforms.items.find((p) => p.name === 'bravo')!;
    expect(bravo()).toMatchObject({
      recentOutcomes: ['completed', 'completed', 'failed'],
      recentFailures: 1,
      failureRate: 1 / 3,
      lastError: { message: 'feed answered HTTP 500 on page 2', at: '2026-01-27T16:00:05.000Z', runId: 50, outcome: 'failed', reason: 'http_5xx' },
    });
    const finishedAt = '2026-01-27T16:00:06.000Z';
    platforms.applyEvent(ev.finished({ id: 2, seq: 2, run: makeDetail({ id: 50, status: 'partial', steps: [makeStep('bravo', { status: 'failed', finishedAt, error: 'feed answered HTTP 500 on page 2' })] }) }));
    expect(bravo().recentOutcomes).toEqual(['completed', 'completed', 'failed']);
    // A completed scrape keeps the last error.
    platforms.applyEvent(at('2026-01-27T16:05:00.000Z')(ev.completed({ id: 3, seq: 1, runId: 51, platform: 'bravo', platformsDone: 1, eventsFound: 12 })));
    expect(bravo()).toMatchObject({ recentOutcomes: ['completed', 'completed', 'failed', 'completed'], recentFailures: 1, failureRate: 0.25, lastError: { runId: 50 } });
    // A timed-out step counts as a timeout.
    platforms.applyEvent(at('2026-01-27T16:10:00.000Z')(ev.failed({ id: 4, seq: 1, runId: 52, platform: 'charlie', platformsDone: 1, error: 'timed out after 30000 ms' })));
    expect(platforms.items.find((p) => p.name === 'charlie')).toMatchObject({ recentOutcomes: ['timeout'], failureRate: 1, lastError: { outcome: 'timeout', runId: 52, reason: null } });
    expect(fake.callsTo('GET', '/api/platforms')).toHaveLength(1);
  });

  it('takes the health read with a bookmaker history unless the stream has brought a newer scrape', async () => {
    installFakeFetch({ 'GET /api/platforms': { body: { items: ITEMS } } });
    const platforms = usePlatformsStore();
    await platforms.load();
    const health = { recentOutcomes: ['failed' as const], recentFailures: 1, failureRate: 1, lastError: ERROR };
    platforms.takeHealth('bravo', health, '2026-01-27T15:59:00.000Z');
    expect(platforms.items.find((p) => p.name === 'bravo')!.failureRate).toBe(1);
    platforms.takeHealth('alpha', { ...health, failureRate: 0.9 }, '2026-01-27T15:00:00.000Z');
    expect(platforms.items.find((p) => p.name === 'alpha')!.failureRate).toBe(0.5);
  });
});

describe('PlatformsCard', () => {
  it('shows each bookmaker failure rate over its last scrapes and its last error; nothing before a first scrape', async () => {
    installFakeFetch({ 'GET /api/platforms': { body: { items: ITEMS } }, 'GET /api/platforms/alpha/history': { body: { platform: 'alpha', items: [], ...NO_HEALTH } } });
    await usePlatformsStore().load();
    const w = mount(PlatformsCard, { global: { stubs: { RouterLink: RouterLinkStub } } });
    await flush();
    const row = (name: string) => w.get(`[data-testid="platform-info"][data-platform="${name}"]`);
    expect(row('alpha').get('[data-testid="platform-failure-rate"]').text()).toBe('2 of last 4 scrapes failed (50%)');
    expect(row('alpha').get('[data-testid="platform-failure-rate"]').classes()).toContain('bad');
    expect(row('alpha').get('[data-testid="platform-last-error"]').text()).toMatch(/^Last error .*: feed answered HTTP 503 on page 1$/);
    expect(row('alpha').get('[data-testid="platform-last-error"] time').attributes('datetime')).toBe(ERROR.at);
    expect(row('alpha').get('[data-testid="platform-last-error-reason"]').text()).toBe('HTTP 5xx');
    expect(row('bravo').get('[data-testid="platform-failure-rate"]').text()).toBe('0 of last 2 scrapes failed (0%)');
    expect(row('bravo').get('[data-testid="platform-last-error"]').classes()).toContain('old'); // outside the window: muted
    expect(row('charlie').find('[data-testid="platform-failure-rate"]').exists()).toBe(false);
    expect(row('charlie').find('[data-testid="platform-last-error"]').exists()).toBe(false);
    w.unmount();
  });
});

describe('bookmaker page', () => {
  it('shows the failure rate, the last error with its run, and each failed scrape error', async () => {
    const history: PlatformHistory = {
      platform: 'alpha',
      items: [scrape(38, 'completed'), scrape(39, 'failed', 'feed answered HTTP 500 on page 2'), scrape(40, 'completed'), scrape(41, 'timeout', 'timed out after 30000 ms')],
      recentOutcomes: ['completed', 'failed', 'completed', 'timeout'],
      recentFailures: 2,
      failureRate: 0.5,
      lastError: { ...ERROR, message: 'timed out after 30000 ms', outcome: 'timeout', reason: 'rate_limited' },
    };
    installFakeFetch({ 'GET /api/platforms': { body: { items: ITEMS } }, 'GET /api/platforms/alpha/history': { body: history } });
    await usePlatformsStore().load();
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/platforms/alpha');
    await router.isReady();
    const w = mount(defineComponent({ render: () => h(RouterView) }), { global: { plugins: [router] } });
    await flush();
    expect(w.get('[data-testid="platform-failure-rate"]').text()).toBe('2 of last 4 scrapes failed (50%)');
    const lastError = w.get('[data-testid="platform-last-error"]');
    expect(lastError.text()).toContain('timed out after 30000 ms');
    expect(lastError.text()).toContain('timed out in run #41');
    expect(lastError.get('a').attributes('href')).toBe('/runs/41');
    expect(lastError.get('[data-testid="platform-last-error-reason"]').text()).toBe('Reason: rate limited (429)');
    expect(w.findAll('[data-testid="platform-scrape-error"]').map((c) => c.text())).toEqual(['timed out after 30000 ms', '', 'feed answered HTTP 500 on page 2', '']);
    w.unmount();
  });
});

describe('RunsTable: the platforms that failed in each row', () => {
  it('names them as links to their pages, three at most with "+N more" to the run, and says none', () => {
    const runs = [
      makeRun({ id: 12, status: 'partial', platformsFailed: 2, failedPlatforms: ['bravo', 'alpha'] }),
      makeRun({ id: 11, status: 'failed', failureReason: 'all_platforms_failed', platformsFailed: 5, failedPlatforms: ['a', 'b', 'c', 'd', 'e'] }),
      makeRun({ id: 10, status: 'completed', platformsFailed: 0, failedPlatforms: [] }),
    ];
    const w = mount(RunsTable, { props: { runs }, global: { stubs: { RouterLink: RouterLinkStub } } });
    const cells = w.findAll('[data-testid="run-row-failed"]');
    expect(cells[0]!.text()).toBe('bravo, alpha');
    expect(cells[0]!.findAllComponents(RouterLinkStub).map((link: { props(): { to?: unknown } }) => link.props().to)).toEqual(['/platforms/bravo', '/platforms/alpha']);
    expect(cells[1]!.attributes('data-platforms')).toBe('a,b,c');
    expect(cells[1]!.text()).toBe('a, b, c +2 more');
    expect(cells[1]!.findAllComponents(RouterLinkStub).at(-1)!.props().to).toBe('/runs/11');
    expect(cells[2]!.text()).toContain('none');
    expect(cells[2]!.classes()).toContain('none');
    w.unmount();
  });

  it('a live row learns its failed platforms from the platform events', () => {
    const run = toEntry(makeDetail({ id: 9 }));
    applyRunEvent(run, ev.failed({ id: 1, seq: 1, runId: 9, platform: 'charlie', platformsDone: 1, error: 'boom' }));
    applyRunEvent(run, ev.failed({ id: 2, seq: 2, runId: 9, platform: 'alpha', platformsDone: 2, error: 'boom' }));
    expect(run.failedPlatforms).toEqual(['alpha', 'charlie']); // the run's platform order
    expect(run.platformsFailed).toBe(2);
  });

  it('a step scraped again after its replica died starts over at its new attempt; a late event of the old attempt changes nothing', () => {
    const run = toEntry(makeDetail({ id: 9 }));
    applyRunEvent(run, ev.platformStarted({ id: 1, seq: 1, runId: 9, platform: 'alpha', replica: 'replica-a' }));
    applyRunEvent(run, ev.progress({ id: 2, seq: 2, runId: 9, platform: 'alpha', eventsFound: 30 }));
    applyRunEvent(run, ev.platformStarted({ id: 3, seq: 3, runId: 9, platform: 'alpha', attempt: 2, replica: 'replica-b' }));
    expect(run.steps!.find((s) => s.platform === 'alpha')).toMatchObject({ status: 'running', attempt: 2, replica: 'replica-b', eventsFound: 0 });
    applyRunEvent(run, ev.progress({ id: 4, seq: 4, runId: 9, platform: 'alpha', eventsFound: 12, attempt: 2 }));
    applyRunEvent(run, ev.progress({ id: 5, seq: 5, runId: 9, platform: 'alpha', eventsFound: 40 }));
    expect(run.steps!.find((s) => s.platform === 'alpha')).toMatchObject({ attempt: 2, eventsFound: 12 });
    expect(run.eventsFound).toBe(12);
  });

  it("a live row's step takes the reason of its platform.failed event (null from an event recorded before reasons)", () => {
    const run = toEntry(makeDetail({ id: 9 }));
    applyRunEvent(run, ev.failed({ id: 1, seq: 1, runId: 9, platform: 'charlie', platformsDone: 1, error: 'feed answered HTTP 429 on page 1', reason: 'rate_limited' }));
    applyRunEvent(run, ev.failed({ id: 2, seq: 2, runId: 9, platform: 'alpha', platformsDone: 2, error: 'boom' }));
    expect(run.steps!.find((s) => s.platform === 'charlie')).toMatchObject({ status: 'failed', reason: 'rate_limited' });
    expect(run.steps!.find((s) => s.platform === 'alpha')).toMatchObject({ status: 'failed', reason: null });
  });
});
