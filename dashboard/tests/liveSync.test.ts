/**
 * The app's data flow (useLiveSync): snapshot first, then stream events; resync and reconnect refetch the
 * snapshot; events arriving during a refetch are applied after it. Fake fetch + fake EventSource: the real
 * service and the browser's EventSource are exercised end to end in Chromium later.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { effectScope } from 'vue';
import { useLiveSync } from '@/composables/useLiveSync';
import { useActiveRunStore } from '@/stores/activeRun';
import { useOddsStore } from '@/stores/odds';
import { useRunsStore } from '@/stores/runs';
import { useSchedulerStore } from '@/stores/scheduler';
import { ev, makeDetail, makeRun, makeScheduler } from './helpers/fixtures';
import { FakeEventSource } from './helpers/fakeEventSource';
import { flush, installFakeFetch } from './helpers/fakeFetch';

const meta = { version: 'test', authRequired: false, platforms: ['alpha', 'bravo', 'charlie'], connectionGraceMs: 5000 };

function baseRoutes(runsReplies: { body: unknown }[]) {
  return {
    'GET /api/meta': { body: meta },
    'GET /api/runs': runsReplies,
    'GET /api/runs/active': { body: { run: null } },
    'GET /api/scheduler': { body: makeScheduler() },
    'GET /api/platforms': { body: { items: [] } },
  };
}

let scope = effectScope();
beforeEach(() => {
  setActivePinia(createPinia());
  FakeEventSource.reset();
  scope = effectScope();
});
afterEach(() => scope.stop());

describe('useLiveSync', () => {
  it('reads the snapshot only once the stream is open (a fresh stream starts live: nothing falls in between)', async () => {
    const fake = installFakeFetch(baseRoutes([{ body: { items: [], nextCursor: null } }]));
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    await flush();
    expect(fake.calls).toHaveLength(0);
    FakeEventSource.last.open();
    await sync.firstLoad;
    expect(fake.callsTo('GET', '/api/runs/active')).toHaveLength(1);
  });

  it('when the stream is slow to open, loads a snapshot anyway, and again once it opens', async () => {
    vi.useFakeTimers();
    try {
      const fake = installFakeFetch(baseRoutes([{ body: { items: [], nextCursor: null } }]));
      const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false, snapshotFallbackMs: 1500 }))!;
      await vi.advanceTimersByTimeAsync(1499);
      expect(fake.calls).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      await sync.firstLoad;
      expect(fake.callsTo('GET', '/api/runs/active')).toHaveLength(1);
      FakeEventSource.last.open();
      await vi.advanceTimersByTimeAsync(10);
      expect(fake.callsTo('GET', '/api/runs/active')).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('opens one stream, loads the snapshot and applies streamed events after it', async () => {
    installFakeFetch(baseRoutes([{ body: { items: [makeRun({ id: 1, status: 'completed' })], nextCursor: null } }]));
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    expect(FakeEventSource.instances).toHaveLength(1);
    FakeEventSource.last.open();
    expect(sync.stream.state.value).toBe('connected');
    await sync.firstLoad;

    const run = makeRun({ id: 2, status: 'pending' });
    FakeEventSource.last.emit('run.created', ev.created({ id: 50, seq: 1, run }), 50);
    expect(useRunsStore().recent.map((r) => r.id)).toEqual([2, 1]);
    expect(useActiveRunStore().run?.id).toBe(2);
    FakeEventSource.last.emit('scheduler.changed', ev.scheduler({ id: 51, scheduler: makeScheduler({ paused: true }) }), 51);
    expect(useSchedulerStore().paused).toBe(true);
  });

  it('a resync event refetches the whole snapshot so nothing shown is stale', async () => {
    const fake = installFakeFetch(
      baseRoutes([
        { body: { items: [makeRun({ id: 1, status: 'running' })], nextCursor: null } },
        { body: { items: [makeRun({ id: 1, status: 'completed', platformsDone: 3 })], nextCursor: null } },
      ]),
    );
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    FakeEventSource.last.open();
    await sync.firstLoad;
    expect(fake.callsTo('GET', '/api/scheduler')).toHaveLength(1);

    FakeEventSource.last.emit('resync', ev.resync(), 0);
    await flush();
    expect(fake.callsTo('GET', '/api/scheduler')).toHaveLength(2);
    expect(fake.callsTo('GET', '/api/runs/active')).toHaveLength(2);
    expect(useRunsStore().byId[1]!.status).toBe('completed');
  });

  it('a reconnect refetches the snapshot; the first connect does not load it twice', async () => {
    const fake = installFakeFetch(baseRoutes([{ body: { items: [], nextCursor: null } }]));
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    FakeEventSource.last.open();
    await sync.firstLoad;
    await flush();
    expect(fake.callsTo('GET', '/api/meta')).toHaveLength(1);

    FakeEventSource.last.fail();
    sync.stream.reconnect(); // the header's Retry (the stream is provided to it, no store in between)
    expect(FakeEventSource.instances).toHaveLength(2);
    FakeEventSource.last.open();
    await flush();
    expect(fake.callsTo('GET', '/api/meta')).toHaveLength(2);
    expect(fake.callsTo('GET', '/api/runs/active')).toHaveLength(2);
  });

  it('the odds page shown is read again on reconnect and resync, and a finished scrape refetches only its bookmaker', async () => {
    const fake = installFakeFetch({ ...baseRoutes([{ body: { items: [], nextCursor: null } }]), 'GET /api/odds': { body: { items: [], nextCursor: null } } });
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    FakeEventSource.last.open();
    await sync.firstLoad;
    expect(fake.callsTo('GET', '/api/odds')).toHaveLength(0); // not shown: not read
    await useOddsStore().open({ platform: null, q: '', cursor: null });
    expect(fake.callsTo('GET', '/api/odds')).toHaveLength(1);

    FakeEventSource.last.emit('platform.progress', ev.progress({ id: 60, seq: 1, runId: 7, platform: 'alpha', eventsFound: 3 }), 60);
    FakeEventSource.last.emit('platform.completed', ev.completed({ id: 61, seq: 2, runId: 7, platform: 'alpha', platformsDone: 1, eventsFound: 10 }), 61);
    await flush();
    expect(fake.callsTo('GET', '/api/odds').map((c) => c.url.search)).toEqual(['?limit=20', '?platform=alpha&limit=20']);

    FakeEventSource.last.emit('resync', ev.resync(), 0);
    await flush();
    expect(fake.callsTo('GET', '/api/odds').at(-1)!.url.search).toBe('?limit=20');
    FakeEventSource.last.fail();
    sync.stream.reconnect();
    FakeEventSource.last.open();
    await flush();
    expect(fake.callsTo('GET', '/api/odds').map((c) => c.url.search)).toEqual(['?limit=20', '?platform=alpha&limit=20', '?limit=20', '?limit=20']);
  });

  it('de-duplicates where events enter: a replay after a reconnect is applied once, and resumes from the last id', async () => {
    installFakeFetch(baseRoutes([{ body: { items: [], nextCursor: null } }]));
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    FakeEventSource.last.open();
    await sync.firstLoad;
    const events = [ev.created({ id: 80, seq: 1, run: makeRun({ id: 6, status: 'pending' }) }), ev.platformStarted({ id: 81, seq: 2, runId: 6, platform: 'alpha' }), ev.completed({ id: 82, seq: 3, runId: 6, platform: 'alpha', platformsDone: 1, eventsFound: 12 })];
    for (const e of events) FakeEventSource.last.emit(e.type, e, e.id);
    FakeEventSource.last.fail();
    sync.stream.reconnect();
    expect(FakeEventSource.last.url).toBe('/api/events?lastEventId=82');
    FakeEventSource.last.open();
    await flush();
    for (const e of events) FakeEventSource.last.emit(e.type, e, e.id); // the service replays them
    FakeEventSource.last.emit('platform.progress', ev.progress({ id: 83, seq: 2, runId: 6, platform: 'bravo', eventsFound: 3 }), 83); // new id, stale seq
    expect(useRunsStore().byId[6]).toMatchObject({ platformsDone: 1, platformsSucceeded: 1, eventsFound: 12 });
    expect(useRunsStore().byId[6]!.steps?.[1]?.status).toBe('pending');
  });

  it('a resync resumes from the id it carries', async () => {
    installFakeFetch(baseRoutes([{ body: { items: [], nextCursor: null } }]));
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    FakeEventSource.last.open();
    await sync.firstLoad;
    FakeEventSource.last.emit('scheduler.changed', ev.scheduler({ id: 500, scheduler: makeScheduler() }), 500);
    FakeEventSource.last.emit('resync', { ...ev.resync(), id: 40 }, 40);
    await flush();
    FakeEventSource.last.emit('scheduler.changed', ev.scheduler({ id: 41, scheduler: makeScheduler({ paused: true }) }), 41);
    expect(useSchedulerStore().paused).toBe(true);
    FakeEventSource.last.fail();
    sync.stream.reconnect();
    expect(FakeEventSource.last.url).toBe('/api/events?lastEventId=41');
  });

  it('events that arrive while the snapshot loads are applied after it, not overwritten by it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    installFakeFetch({
      ...baseRoutes([{ body: { items: [], nextCursor: null } }]),
      // The active-run snapshot answers late and is older than the streamed event.
      'GET /api/runs/active': async () => {
        await gate;
        return { body: { run: makeDetail({ id: 3 }) } };
      },
    });
    const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
    FakeEventSource.last.open();
    FakeEventSource.last.emit('platform.completed', ev.completed({ id: 70, seq: 4, runId: 3, platform: 'alpha', platformsDone: 1, eventsFound: 17 }), 70);
    expect(useActiveRunStore().run).toBeNull(); // waiting for the snapshot
    release();
    await sync.firstLoad;
    const step = useActiveRunStore().run?.steps.find((s) => s.platform === 'alpha');
    expect(step).toMatchObject({ status: 'completed', eventsFound: 17 });
  });
});

describe('useLiveSync: live or paused, and as of when', () => {
  it('live once the snapshot is applied; paused from the loss, as of the loss; still paused while the reconnect snapshot loads; live after it', async () => {
    vi.useFakeTimers();
    try {
      let release: (() => void) | null = null;
      const fake = installFakeFetch({
        ...baseRoutes([{ body: { items: [], nextCursor: null } }]),
        'GET /api/runs/active': [
          { body: { run: null } },
          async () => {
            await new Promise<void>((resolve) => (release = resolve)); // the snapshot after the reconnect answers late
            return { body: { run: null } };
          },
        ],
      });
      const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
      const { live } = sync;
      expect(live.pausedSince.value).toBeNull(); // first connecting: not paused, nothing to mark
      FakeEventSource.last.open();
      await sync.firstLoad;
      expect(live.pausedSince.value).toBeNull();

      await vi.advanceTimersByTimeAsync(4_000);
      FakeEventSource.last.emit('scheduler.changed', ev.scheduler({ id: 51, scheduler: makeScheduler() }), 51);
      await vi.advanceTimersByTimeAsync(6_000); // 6 s without an event: the open stream says nothing changed
      const lostAt = Date.now();
      FakeEventSource.last.fail();
      expect(live.pausedSince.value).toBe(lostAt);
      expect(live.asOf.value).toBe(lostAt);
      await vi.advanceTimersByTimeAsync(1_200); // the retry (1 s, +20 % jitter at most)
      FakeEventSource.last.fail();
      await vi.advanceTimersByTimeAsync(2_400);
      expect(FakeEventSource.instances).toHaveLength(3);
      expect(live.pausedSince.value).toBe(lostAt); // failed retries change nothing
      expect(live.asOf.value).toBe(lostAt);
      expect(fake.callsTo('GET', '/readyz').length, 'the readiness probe polled while down').toBeGreaterThanOrEqual(3);

      FakeEventSource.last.open(); // back, reading the snapshot
      await vi.advanceTimersByTimeAsync(10);
      expect(sync.stream.state.value).toBe('connected');
      expect(live.pausedSince.value, 'not live before the snapshot is applied').toBe(lostAt);
      release!();
      await vi.advanceTimersByTimeAsync(10);
      expect(live.pausedSince.value).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a stream lost while the reconnect snapshot loads was not current then: as of the last event or snapshot applied', async () => {
    vi.useFakeTimers();
    try {
      const never = new Promise<{ body: unknown }>(() => undefined);
      installFakeFetch({ ...baseRoutes([{ body: { items: [], nextCursor: null } }]), 'GET /api/runs/active': [{ body: { run: null } }, () => never] });
      const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false }))!;
      FakeEventSource.last.open();
      await sync.firstLoad;
      await vi.advanceTimersByTimeAsync(2_000);
      const lastEvent = Date.now();
      FakeEventSource.last.emit('scheduler.changed', ev.scheduler({ id: 51, scheduler: makeScheduler() }), 51);
      await vi.advanceTimersByTimeAsync(3_000);
      const lostAt = Date.now();
      FakeEventSource.last.fail();
      expect(sync.live.asOf.value).toBe(lostAt);
      await vi.advanceTimersByTimeAsync(1_200); // the first retry (1 s, +20 % jitter at most)
      expect(FakeEventSource.instances).toHaveLength(2);
      FakeEventSource.last.open(); // its snapshot never comes
      await vi.advanceTimersByTimeAsync(2_000);
      FakeEventSource.last.emit('scheduler.changed', ev.scheduler({ id: 52, scheduler: makeScheduler() }), 52); // buffered, not applied
      FakeEventSource.last.fail();
      expect(sync.live.pausedSince.value).toBe(lostAt);
      expect(sync.live.asOf.value).toBe(lostAt);
      expect(sync.live.asOf.value).toBeGreaterThan(lastEvent);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a stream that never opened: paused from its first failure, as of the snapshot loaded meanwhile', async () => {
    vi.useFakeTimers();
    try {
      installFakeFetch(baseRoutes([{ body: { items: [], nextCursor: null } }]));
      const sync = scope.run(() => useLiveSync({ EventSource: FakeEventSource, autoRescrape: false, snapshotFallbackMs: 1500 }))!;
      await vi.advanceTimersByTimeAsync(500);
      const failedAt = Date.now();
      FakeEventSource.last.fail();
      expect(sync.live.pausedSince.value).toBe(failedAt);
      expect(sync.live.asOf.value).toBeNull(); // nothing loaded yet
      await vi.advanceTimersByTimeAsync(1_000); // the fallback snapshot at 1.5 s
      await sync.firstLoad;
      expect(sync.live.asOf.value).toBe(failedAt + 1_000);
      expect(sync.live.pausedSince.value).toBe(failedAt);
    } finally {
      vi.useRealTimers();
    }
  });
});
