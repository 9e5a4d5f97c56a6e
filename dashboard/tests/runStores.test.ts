/**
 * The runs and activeRun stores: one copy of each run, events applied as sent (the final steps of
 * `run.finished` included, with no refetch), REST snapshots never moving a run backwards. Events reach the
 * stores already de-duplicated (see eventGate.test.ts and liveSync.test.ts). Fake fetch: the real service is
 * exercised end to end in Chromium (tests/e2e).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { StreamEvent } from '@contract';
import { localRunEvent } from '@/lib/localEvents';
import { useActiveRunStore } from '@/stores/activeRun';
import { EVENT_APPLIERS, useEventAppliers } from '@/stores/eventAppliers';
import { usePlatformsStore } from '@/stores/platforms';
import { useRunsStore } from '@/stores/runs';
import { ev, makeDetail, makeRun, makeStep } from './helpers/fixtures';
import { flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => {
  setActivePinia(createPinia());
});

/** What useLiveSync does with an event that passed its gate: every store, in EVENT_APPLIERS' order. */
function route(...events: StreamEvent[]) {
  const applyEvent = useEventAppliers();
  for (const e of events) applyEvent(e);
}

describe('the order events reach the stores', () => {
  it('puts every store after the stores it reads (activeRun after runs)', () => {
    const order = EVENT_APPLIERS.map((applier) => applier.store);
    expect(new Set(order).size).toBe(order.length);
    for (const [i, applier] of EVENT_APPLIERS.entries()) {
      for (const dependency of applier.after ?? []) {
        const at = order.indexOf(dependency.store);
        expect(at, `${applier.store} after ${dependency.store}`).toBeGreaterThanOrEqual(0);
        expect(at, `${applier.store} after ${dependency.store}`).toBeLessThan(i);
      }
    }
    expect(EVENT_APPLIERS.find((applier) => applier.store === 'activeRun')?.after?.map((dep) => dep.store)).toEqual(['runs']);
  });
});

describe('a run from created to finished, from the events alone', () => {
  it('applies created, started, platform steps and the final steps of run.finished, with no REST request', async () => {
    const fake = installFakeFetch({});
    const active = useActiveRunStore();
    const run = makeRun({ id: 9, status: 'pending', startedAt: null });
    route(ev.created({ id: 100, seq: 1, run }));
    expect(active.run?.id).toBe(9);
    expect(active.run?.steps.map((s) => s.status)).toEqual(['pending', 'pending', 'pending']);

    route(
      ev.started({ id: 101, seq: 2, run: { ...run, status: 'running' } }),
      ev.platformStarted({ id: 102, seq: 3, runId: 9, platform: 'alpha' }),
      ev.progress({ id: 103, seq: 4, runId: 9, platform: 'alpha', eventsFound: 12 }),
    );
    expect(active.run?.steps[0]).toMatchObject({ platform: 'alpha', status: 'running', eventsFound: 12 });
    expect(active.run?.eventsFound).toBe(12);
    expect(active.anchors.alpha?.elapsedMs).toBe(500);

    route(ev.completed({ id: 104, seq: 5, runId: 9, platform: 'alpha', platformsDone: 1, eventsFound: 30, durationMs: 1500 }), ev.platformStarted({ id: 105, seq: 6, runId: 9, platform: 'bravo', platformsDone: 1 }), ev.failed({ id: 106, seq: 7, runId: 9, platform: 'bravo', platformsDone: 2, error: 'HTTP 503 from bravo' }));
    expect(active.run?.steps[0]).toMatchObject({ status: 'completed', eventsFound: 30, durationMs: 1500 });
    expect(active.run?.steps[1]).toMatchObject({ status: 'failed', error: 'HTTP 503 from bravo' });
    expect(active.anchors.alpha).toBeUndefined();
    expect(active.run).toMatchObject({ platformsDone: 2, platformsTotal: 3, platformsSucceeded: 1, platformsFailed: 1, eventsFound: 30 });

    // The service's final word: charlie was skipped, and alpha's count was corrected when its step was saved.
    const final = makeDetail({
      ...run,
      status: 'connection_failed',
      failureReason: 'connection_lost',
      platformsDone: 2,
      platformsSucceeded: 1,
      platformsFailed: 1,
      eventsFound: 31,
      durationMs: 4200,
      steps: [
        makeStep('alpha', { status: 'completed', eventsFound: 31, durationMs: 1500 }),
        makeStep('bravo', { status: 'failed', error: 'HTTP 503 from bravo', durationMs: 900 }),
        makeStep('charlie', { status: 'skipped' }),
      ],
    });
    route(ev.finished({ id: 107, seq: 8, run: final }));
    expect(active.isActive).toBe(false);
    expect(active.run).toMatchObject({ status: 'connection_failed', eventsFound: 31, durationMs: 4200 });
    expect(active.run?.steps.map((s) => [s.status, s.eventsFound])).toEqual([['completed', 31], ['failed', 0], ['skipped', 0]]);
    await flush();
    expect(fake.calls).toHaveLength(0);
  });

  it('keeps one copy: the live card, the recent list and the run page read the same run', () => {
    const runs = useRunsStore();
    const active = useActiveRunStore();
    route(ev.created({ id: 1, seq: 1, run: makeRun({ id: 3, status: 'pending' }) }), ev.platformStarted({ id: 2, seq: 2, runId: 3, platform: 'alpha' }));
    expect(runs.recent[0]).toBe(runs.byId[3]);
    expect(active.run).toBe(runs.byId[3]);
  });

  it('takes platforms done and total as the service sends them', () => {
    const active = useActiveRunStore();
    route(ev.created({ id: 1, seq: 1, run: makeRun({ id: 4, status: 'running' }) }));
    // Another replica finished a platform this tab never heard of: the count is the service's, not ours.
    route(ev.completed({ id: 2, seq: 2, runId: 4, platform: 'alpha', platformsDone: 2, eventsFound: 5 }));
    expect(active.run).toMatchObject({ platformsDone: 2, platformsTotal: 3, platformsSucceeded: 1 });
  });

  it('an event older than what a snapshot already shows changes nothing', () => {
    const active = useActiveRunStore();
    active.follow(makeDetail({ id: 5, platformsDone: 1, platformsSucceeded: 1, eventsFound: 9, steps: [makeStep('alpha', { status: 'completed', eventsFound: 9 }), makeStep('bravo', { status: 'running', eventsFound: 4 }), makeStep('charlie')] }));
    route(ev.progress({ id: 10, seq: 3, runId: 5, platform: 'alpha', eventsFound: 5 }), ev.completed({ id: 11, seq: 4, runId: 5, platform: 'alpha', platformsDone: 1, eventsFound: 9 }), ev.progress({ id: 12, seq: 5, runId: 5, platform: 'bravo', eventsFound: 2 }));
    expect(active.run?.steps.map((s) => [s.status, s.eventsFound])).toEqual([['completed', 9], ['running', 4], ['pending', 0]]);
    expect(active.run).toMatchObject({ platformsDone: 1, platformsSucceeded: 1, eventsFound: 9 });
    route(ev.progress({ id: 13, seq: 6, runId: 5, platform: 'bravo', eventsFound: 6, elapsedMs: 500, platformsDone: 1 }));
    expect(active.run?.eventsFound).toBe(15);
  });

  it('a REST snapshot answered before the latest events does not move the run backwards', () => {
    const active = useActiveRunStore();
    active.follow(makeDetail({ id: 5 }));
    route(ev.platformStarted({ id: 500, seq: 1, runId: 5, platform: 'alpha' }), ev.completed({ id: 501, seq: 2, runId: 5, platform: 'alpha', platformsDone: 1, eventsFound: 9 }));
    active.follow(makeDetail({ id: 5, steps: [makeStep('alpha', { status: 'running', eventsFound: 3 })] }));
    expect(active.run?.steps.find((s) => s.platform === 'alpha')?.status).toBe('completed');
    expect(active.run?.platformsDone).toBe(1);
  });

  it('a terminal status never changes back', () => {
    const runs = useRunsStore();
    const run = makeRun({ id: 7, status: 'pending' });
    route(ev.created({ id: 20, seq: 1, run }), ev.finished({ id: 22, seq: 5, run: makeDetail({ ...run, status: 'failed', failureReason: 'stale' }) }));
    route(ev.started({ id: 23, seq: 6, run: { ...run, status: 'running' } }), ev.finished({ id: 24, seq: 7, run: makeDetail({ ...run, status: 'completed' }) }));
    expect(runs.byId[7]).toMatchObject({ status: 'failed', failureReason: 'stale' });
  });

  it('follows a newer run and leaves an older one alone', () => {
    const active = useActiveRunStore();
    active.follow(makeDetail({ id: 10 }));
    route(ev.created({ id: 400, seq: 1, run: makeRun({ id: 8, status: 'pending' }) }));
    expect(active.run?.id).toBe(10);
    route(ev.created({ id: 401, seq: 1, run: makeRun({ id: 11, status: 'pending' }) }));
    expect(active.run?.id).toBe(11);
  });

  it('refresh() loads the active run, or the final state of the one shown when nothing is active', async () => {
    const fake = installFakeFetch({
      'GET /api/runs/active': [{ body: { run: makeDetail({ id: 12 }) } }, { body: { run: null } }],
      'GET /api/runs/12': { body: makeDetail({ id: 12, status: 'completed', platformsDone: 3, durationMs: 4000 }) },
    });
    const active = useActiveRunStore();
    await active.refresh();
    expect(active.run?.id).toBe(12);
    expect(active.isActive).toBe(true);
    await active.refresh();
    await flush();
    expect(fake.callsTo('GET', '/api/runs/12')).toHaveLength(1);
    expect(active.run?.status).toBe('completed');
  });

  it('refresh() shows the final state of the run shown even when the recent-runs snapshot learned first that it ended', async () => {
    // After an outage both run concurrently: the list may answer before the active run does (the order of the
    // answers is the network's), and its summary (no steps) must not leave the card empty.
    let answerActive!: () => void;
    const fake = installFakeFetch({
      'GET /api/runs/active': [
        { body: { run: makeDetail({ id: 12 }) } },
        async () => {
          await new Promise<void>((resolve) => (answerActive = resolve));
          return { body: { run: null } };
        },
      ],
      'GET /api/runs': { body: { items: [makeRun({ id: 12, status: 'failed', failureReason: 'interrupted', platformsDone: 3 })], nextCursor: null } },
      'GET /api/runs/12': { body: makeDetail({ id: 12, status: 'failed', failureReason: 'interrupted', platformsDone: 3, durationMs: 4000 }) },
    });
    const runs = useRunsStore();
    const active = useActiveRunStore();
    await active.refresh();
    expect(active.isActive).toBe(true);

    const both = Promise.all([runs.refresh(), active.refresh()]);
    await flush();
    expect(runs.byId[12]!.status).toBe('failed'); // the list answered first
    answerActive();
    await both;
    await flush();
    expect(fake.callsTo('GET', '/api/runs/12')).toHaveLength(1);
    expect(active.run?.id).toBe(12);
    expect(active.run?.status).toBe('failed');
    expect(active.run?.steps).toHaveLength(3);
  });

  it('reads the steps of a run first seen mid-way (its creation missed) once', async () => {
    const fake = installFakeFetch({
      'GET /api/runs/15': { body: makeDetail({ id: 15, platformsDone: 1, steps: [makeStep('alpha', { status: 'completed', eventsFound: 8 }), makeStep('bravo', { status: 'running' }), makeStep('charlie')] }) },
    });
    const active = useActiveRunStore();
    route(ev.started({ id: 600, seq: 2, run: makeRun({ id: 15 }) }), ev.progress({ id: 601, seq: 3, runId: 15, platform: 'bravo', eventsFound: 1 }));
    await flush();
    expect(fake.callsTo('GET', '/api/runs/15')).toHaveLength(1);
    expect(active.run?.steps.map((s) => s.status)).toEqual(['completed', 'running', 'pending']);
  });
});

describe('the volume-drop flag of a finished step', () => {
  it('comes live with platform.completed, so the row needs no refetch', () => {
    installFakeFetch({});
    const active = useActiveRunStore();
    const run = makeRun({ id: 12, status: 'running' });
    route(ev.created({ id: 200, seq: 1, run }), ev.platformStarted({ id: 201, seq: 2, runId: 12, platform: 'alpha' }));
    const thin = ev.completed({ id: 202, seq: 3, runId: 12, platform: 'alpha', platformsDone: 1, eventsFound: 12, durationMs: 900 });
    route({ ...thin, data: { ...thin.data, volumeDrop: true, expectedEvents: 48 } });
    expect(active.run?.steps[0]).toMatchObject({ status: 'completed', eventsFound: 12, volumeDrop: true, expectedEvents: 48 });
    // An event recorded before the check existed carries neither: not judged.
    route(ev.platformStarted({ id: 203, seq: 4, runId: 12, platform: 'bravo', platformsDone: 1 }), ev.completed({ id: 204, seq: 5, runId: 12, platform: 'bravo', platformsDone: 2, eventsFound: 30, durationMs: 900 }));
    expect(active.run?.steps[1]).toMatchObject({ status: 'completed', volumeDrop: null, expectedEvents: null });
  });
});

describe('the page at failure of a failed step', () => {
  it('comes live with platform.failed (captured), so the run page offers it without a refetch', () => {
    installFakeFetch({});
    const active = useActiveRunStore();
    route(ev.created({ id: 300, seq: 1, run: makeRun({ id: 13, status: 'running' }) }), ev.platformStarted({ id: 301, seq: 2, runId: 13, platform: 'alpha' }), ev.platformStarted({ id: 302, seq: 3, runId: 13, platform: 'bravo' }));
    route(ev.failed({ id: 303, seq: 4, runId: 13, platform: 'alpha', platformsDone: 1, error: 'wait for .card: not on the page', reason: 'layout', captured: true }));
    // An event recorded before captures existed carries none: nothing to offer.
    route(ev.failed({ id: 304, seq: 5, runId: 13, platform: 'bravo', platformsDone: 2, error: 'boom', reason: 'parse' }));
    expect(active.run?.steps.map((s) => [s.platform, s.captured])).toEqual([['alpha', true], ['bravo', false], ['charlie', false]]);
  });
});

describe('runs store: lists', () => {
  it('loads a snapshot first, then prepends created runs and updates counts from platform events', async () => {
    installFakeFetch({ 'GET /api/runs': { body: { items: [makeRun({ id: 3, status: 'completed' })], nextCursor: null } } });
    const runs = useRunsStore();
    await runs.fetchRecent();
    expect(runs.recent.map((r) => r.id)).toEqual([3]);

    route(ev.created({ id: 10, seq: 1, run: makeRun({ id: 4, status: 'pending' }) }), ev.completed({ id: 11, seq: 2, runId: 4, platform: 'alpha', platformsDone: 1, eventsFound: 20 }), ev.failed({ id: 12, seq: 3, runId: 4, platform: 'bravo', platformsDone: 2, error: 'boom' }));
    expect(runs.recent.map((r) => r.id)).toEqual([4, 3]);
    expect(runs.byId[4]).toMatchObject({ status: 'running', platformsDone: 2, platformsSucceeded: 1, platformsFailed: 1, eventsFound: 20 });
  });

  it('a local event (a run this tab started) applied twice counts once', () => {
    const runs = useRunsStore();
    runs.applyEvent(localRunEvent(makeDetail({ id: 6, status: 'running' })));
    const done = { ...ev.completed({ id: 0, seq: 1, runId: 6, platform: 'alpha', platformsDone: 1, eventsFound: 5 }), id: 0, seq: null };
    runs.applyEvent(done);
    runs.applyEvent(done);
    expect(runs.byId[6]).toMatchObject({ platformsDone: 1, platformsSucceeded: 1, eventsFound: 5 });
  });

  it('a retry run marks the run it retries as retried', () => {
    const runs = useRunsStore();
    route(ev.finished({ id: 30, seq: 9, run: makeDetail({ id: 20, status: 'connection_failed', failureReason: 'connection_lost' }) }));
    route(ev.created({ id: 31, seq: 1, run: makeRun({ id: 21, status: 'pending', trigger: 'retry', retryOf: 20 }) }));
    expect(runs.byId[20]!.retriedBy).toBe(21);
  });

  it('adds a new run to the first page of the runs view only when it matches the filters', async () => {
    installFakeFetch({ 'GET /api/runs': { body: { items: [makeRun({ id: 1, status: 'completed', trigger: 'scheduled' })], nextCursor: 'c1' } } });
    const runs = useRunsStore();
    await runs.fetchPage({ status: null, trigger: 'scheduled' }, null);
    route(ev.created({ id: 40, seq: 1, run: makeRun({ id: 2, status: 'pending', trigger: 'api-stream' }) }), ev.created({ id: 41, seq: 1, run: makeRun({ id: 3, status: 'pending', trigger: 'scheduled' }) }));
    expect(runs.pageRuns.map((r) => r.id)).toEqual([3, 1]);
    expect(runs.pageNextCursor).toBe('c1');
  });

  it('sends filters, limit and cursor to GET /api/runs', async () => {
    const fake = installFakeFetch({ 'GET /api/runs': { body: { items: [], nextCursor: null } } });
    await useRunsStore().fetchPage({ status: 'connection_failed', trigger: 'retry' }, 'abc');
    const q = fake.calls[0]!.url.searchParams;
    expect([q.get('status'), q.get('trigger'), q.get('cursor'), q.get('limit')]).toEqual(['connection_failed', 'retry', 'abc', '20']);
  });

  it('refresh() refetches recent runs, the current page and opened runs', async () => {
    const fake = installFakeFetch({
      'GET /api/runs': { body: { items: [makeRun({ id: 1 })], nextCursor: null } },
      'GET /api/runs/1': { body: makeDetail({ id: 1 }) },
    });
    const runs = useRunsStore();
    await runs.fetchPage({ status: 'running', trigger: null }, null);
    await runs.fetchDetail(1);
    fake.calls.length = 0;
    await runs.refresh();
    expect(fake.calls.map((c) => c.path).sort()).toEqual(['/api/runs/1', '/api/runs?limit=8', '/api/runs?status=running&limit=20']);
  });

  it('dims the page while another page comes, not while the page shown is read again (a reconnect)', async () => {
    installFakeFetch({ 'GET /api/runs': { body: { items: [makeRun({ id: 1 })], nextCursor: 'next' } } });
    const runs = useRunsStore();
    const first = runs.fetchPage({ status: null, trigger: null }, null);
    expect(runs.pageLoading).toBe(true);
    await first;
    expect(runs.pageLoading).toBe(false);
    const again = runs.refresh();
    expect(runs.pageLoading).toBe(false);
    await again;
    const next = runs.fetchPage({ status: null, trigger: null }, 'next');
    expect(runs.pageLoading).toBe(true);
    await next;
    const filtered = runs.fetchPage({ status: 'failed', trigger: null }, 'next');
    expect(runs.pageLoading).toBe(true);
    await filtered;
    expect(runs.pageLoading).toBe(false);
  });
});

describe('platforms store', () => {
  it('takes each platform’s last outcome from the events, without refetching', async () => {
    const fake = installFakeFetch({
      'GET /api/platforms': { body: { items: ['alpha', 'bravo', 'charlie'].map((name) => ({ name, baseUrl: 'x', timeoutMs: 1000, lastOutcome: null, lastRunId: null, lastFinishedAt: null, lastSuccessAt: null, lastEventsFound: null })) } },
    });
    const platforms = usePlatformsStore();
    await platforms.load();
    platforms.applyEvent(ev.completed({ id: 1, seq: 1, runId: 9, platform: 'alpha', platformsDone: 1, eventsFound: 14 }));
    platforms.applyEvent(ev.failed({ id: 2, seq: 2, runId: 9, platform: 'bravo', platformsDone: 2, error: 'boom' }));
    const finishedAt = '2026-01-27T16:00:09.000Z';
    platforms.applyEvent(ev.finished({ id: 3, seq: 3, run: makeDetail({ id: 9, status: 'partial', steps: [makeStep('alpha', { status: 'completed' }), makeStep('bravo', { status: 'failed' }), makeStep('charlie', { status: 'failed', finishedAt, error: 'stale' })] }) }));
    await flush();
    expect(platforms.items.map((p) => [p.name, p.lastOutcome, p.lastEventsFound])).toEqual([['alpha', 'completed', 14], ['bravo', 'failed', 0], ['charlie', 'failed', 0]]);
    expect(platforms.items[0]!.lastSuccessAt).not.toBeNull();
    expect(fake.callsTo('GET', '/api/platforms')).toHaveLength(1);
  });
});
