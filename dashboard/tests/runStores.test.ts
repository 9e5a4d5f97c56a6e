/**
 * Event application in the runs and activeRun stores: ordering, de-duplication by global id and per-run seq,
 * out-of-order seq ignored, snapshots merged without going backwards. Uses a fake fetch (the real service is
 * tested end to end in Chromium later).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { localRunEvent } from '@/lib/localEvents';
import { useActiveRunStore } from '@/stores/activeRun';
import { useRunsStore } from '@/stores/runs';
import { ev, makeDetail, makeRun, makeStep } from './helpers/fixtures';
import { flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => {
  setActivePinia(createPinia());
});

describe('activeRun store: live platform steps', () => {
  it('applies a run in order: created, started, steps running then done/failed, finished', () => {
    installFakeFetch({ 'GET /api/runs/9': { body: makeDetail({ id: 9, status: 'partial', platformsDone: 3 }) } });
    const store = useActiveRunStore();
    const run = makeRun({ id: 9, status: 'pending', startedAt: null });
    store.applyEvent(ev.created(100, 1, run));
    expect(store.run?.id).toBe(9);
    expect(store.run?.steps.map((s) => s.status)).toEqual(['pending', 'pending', 'pending']);

    store.applyEvent(ev.started(101, 2, { ...run, status: 'running' }));
    store.applyEvent(ev.platformStarted(102, 3, 9, 'alpha'));
    store.applyEvent(ev.progress(103, 4, 9, 'alpha', 12));
    expect(store.run?.steps[0]).toMatchObject({ platform: 'alpha', status: 'running', eventsFound: 12 });
    expect(store.anchors.alpha?.elapsedMs).toBe(500);

    store.applyEvent(ev.completed(104, 5, 9, 'alpha', 1, 30, 1500));
    store.applyEvent(ev.platformStarted(105, 6, 9, 'bravo', 1));
    store.applyEvent(ev.failed(106, 7, 9, 'bravo', 2, 'HTTP 503 from bravo'));
    expect(store.run?.steps[0]).toMatchObject({ status: 'completed', eventsFound: 30, durationMs: 1500 });
    expect(store.run?.steps[1]).toMatchObject({ status: 'failed', error: 'HTTP 503 from bravo' });
    expect(store.anchors.alpha).toBeUndefined();
    expect(store.progressText).toBe('2/3 platforms');
    expect(store.run?.platformsSucceeded).toBe(1);
    expect(store.run?.platformsFailed).toBe(1);
    expect(store.run?.eventsFound).toBe(30);

    store.applyEvent(
      ev.finished(107, 8, { ...run, status: 'connection_failed', failureReason: 'connection_lost', platformsDone: 2, platformsTotal: 3 }),
    );
    expect(store.run?.status).toBe('connection_failed');
    expect(store.isActive).toBe(false);
    expect(store.run?.steps[2]!.status).toBe('skipped'); // never started
  });

  it('applies each global id at most once', () => {
    const store = useActiveRunStore();
    store.follow(makeDetail({ id: 4 }));
    store.applyEvent(ev.platformStarted(200, 1, 4, 'alpha'));
    const second = ev.completed(201, 2, 4, 'alpha', 1, 10);
    expect(store.applyEvent(second)).toBe(true);
    expect(store.applyEvent(second)).toBe(false); // replayed after a reconnect
    expect(store.applyEvent({ ...second, seq: 99 })).toBe(false); // same global id, whatever its seq
    expect(store.run?.platformsDone).toBe(1);
    expect(store.run?.platformsSucceeded).toBe(1);
  });

  it('ignores a run event whose seq is not newer than the last applied one (out of order)', () => {
    const store = useActiveRunStore();
    store.follow(makeDetail({ id: 4 }));
    store.applyEvent(ev.platformStarted(300, 1, 4, 'alpha'));
    store.applyEvent(ev.completed(302, 3, 4, 'alpha', 1, 44));
    // A late progress event with an older seq (but an id we have not seen) must not undo "completed".
    expect(store.applyEvent(ev.progress(305, 2, 4, 'alpha', 5))).toBe(false);
    expect(store.run?.steps[0]).toMatchObject({ status: 'completed', eventsFound: 44 });
    expect(store.gate.lastSeq[4]).toBe(3);
  });

  it('follows a newer run and leaves an older one alone', () => {
    const store = useActiveRunStore();
    store.follow(makeDetail({ id: 10 }));
    store.applyEvent(ev.created(400, 1, makeRun({ id: 8, status: 'pending' })));
    expect(store.run?.id).toBe(10);
    store.applyEvent(ev.created(401, 1, makeRun({ id: 11, status: 'pending' })));
    expect(store.run?.id).toBe(11);
  });

  it('a REST snapshot answered before the latest events does not move the run backwards', async () => {
    const store = useActiveRunStore();
    store.follow(makeDetail({ id: 5 }));
    store.applyEvent(ev.platformStarted(500, 1, 5, 'alpha'));
    store.applyEvent(ev.completed(501, 2, 5, 'alpha', 1, 9));
    // The snapshot still shows alpha running.
    store.follow(makeDetail({ id: 5, steps: [{ platform: 'alpha', status: 'running', eventsFound: 3, startedAt: null, finishedAt: null, durationMs: null, error: null }] }));
    expect(store.run?.steps.find((s) => s.platform === 'alpha')?.status).toBe('completed');
    expect(store.run?.platformsDone).toBe(1);
  });

  it('refresh() loads the active run, or the final state of the one shown when nothing is active', async () => {
    const fake = installFakeFetch({
      'GET /api/runs/active': [{ body: { run: makeDetail({ id: 12 }) } }, { body: { run: null } }],
      'GET /api/runs/12': { body: makeDetail({ id: 12, status: 'completed', platformsDone: 3, durationMs: 4000 }) },
    });
    const store = useActiveRunStore();
    await store.refresh();
    expect(store.run?.id).toBe(12);
    expect(store.isActive).toBe(true);
    await store.refresh();
    await flush();
    expect(fake.callsTo('GET', '/api/runs/12')).toHaveLength(1);
    expect(store.run?.status).toBe('completed');
  });
});

describe('runs store: summaries for recent runs and the runs page', () => {
  it('loads a snapshot first, then prepends created runs and updates counts from platform events', async () => {
    installFakeFetch({ 'GET /api/runs': { body: { items: [makeRun({ id: 3, status: 'completed' })], nextCursor: null } } });
    const store = useRunsStore();
    await store.fetchRecent();
    expect(store.recent.map((r) => r.id)).toEqual([3]);

    store.applyEvent(ev.created(10, 1, makeRun({ id: 4, status: 'pending' })));
    store.applyEvent(ev.completed(11, 2, 4, 'alpha', 1, 20));
    store.applyEvent(ev.failed(12, 3, 4, 'bravo', 2, 'boom'));
    expect(store.recent.map((r) => r.id)).toEqual([4, 3]);
    expect(store.byId[4]).toMatchObject({ status: 'running', platformsDone: 2, platformsSucceeded: 1, platformsFailed: 1, eventsFound: 20 });

    // The same completion replayed with a new id but an old seq is ignored; so is an exact duplicate.
    expect(store.applyEvent(ev.completed(13, 2, 4, 'alpha', 1, 20))).toBe(false);
    expect(store.applyEvent(ev.failed(12, 3, 4, 'bravo', 2, 'boom'))).toBe(false);
    expect(store.byId[4]!.platformsSucceeded).toBe(1);
  });

  it('counts a finishing platform once even when the event passes the gate twice as a local event', () => {
    const store = useRunsStore();
    store.applyEvent(localRunEvent(makeRun({ id: 6, status: 'running' })));
    const done = { ...ev.completed(0, 1, 6, 'alpha', 1, 5), id: 0, seq: null };
    store.applyEvent(done);
    store.applyEvent(done);
    expect(store.byId[6]).toMatchObject({ platformsDone: 1, platformsSucceeded: 1, eventsFound: 5 });
  });

  it('a terminal status never changes back', () => {
    const store = useRunsStore();
    const run = makeRun({ id: 7, status: 'pending' });
    store.applyEvent(ev.created(20, 1, run));
    store.applyEvent(ev.finished(22, 5, { ...run, status: 'failed', failureReason: 'stale' }));
    store.applyEvent(ev.started(23, 6, { ...run, status: 'running' })); // a buggy late event
    expect(store.byId[7]).toMatchObject({ status: 'failed', failureReason: 'stale' });
  });

  it('a retry run marks the run it retries as retried', () => {
    const store = useRunsStore();
    store.applyEvent(ev.finished(30, 9, makeRun({ id: 20, status: 'connection_failed', failureReason: 'connection_lost' })));
    store.applyEvent(ev.created(31, 1, makeRun({ id: 21, status: 'pending', trigger: 'retry', retryOf: 20 })));
    expect(store.byId[20]!.retriedBy).toBe(21);
  });

  it('adds a new run to the first page of the runs view only when it matches the filters', async () => {
    installFakeFetch({ 'GET /api/runs': { body: { items: [makeRun({ id: 1, status: 'completed', trigger: 'scheduled' })], nextCursor: 'c1' } } });
    const store = useRunsStore();
    await store.fetchPage({ status: null, trigger: 'scheduled' }, null);
    store.applyEvent(ev.created(40, 1, makeRun({ id: 2, status: 'pending', trigger: 'api-stream' })));
    store.applyEvent(ev.created(41, 1, makeRun({ id: 3, status: 'pending', trigger: 'scheduled' })));
    expect(store.pageRuns.map((r) => r.id)).toEqual([3, 1]);
    expect(store.pageNextCursor).toBe('c1');
  });

  it('sends filters, limit and cursor to GET /api/runs', async () => {
    const fake = installFakeFetch({ 'GET /api/runs': { body: { items: [], nextCursor: null } } });
    const store = useRunsStore();
    await store.fetchPage({ status: 'connection_failed', trigger: 'retry' }, 'abc');
    const q = fake.calls[0]!.url.searchParams;
    expect(q.get('status')).toBe('connection_failed');
    expect(q.get('trigger')).toBe('retry');
    expect(q.get('cursor')).toBe('abc');
    expect(q.get('limit')).toBe('20');
  });

  it('refresh() refetches recent runs, the current page and open details', async () => {
    const fake = installFakeFetch({
      'GET /api/runs': { body: { items: [makeRun({ id: 1 })], nextCursor: null } },
      'GET /api/runs/1': { body: makeDetail({ id: 1 }) },
    });
    const store = useRunsStore();
    await store.fetchPage({ status: 'running', trigger: null }, null);
    await store.fetchDetail(1);
    fake.calls.length = 0;
    await store.refresh();
    expect(fake.calls.map((c) => c.path).sort()).toEqual(['/api/runs/1', '/api/runs?limit=8', '/api/runs?status=running&limit=20']);
  });
});

describe('activeRun store: a run first seen mid-way', () => {
  it('fetches the steps of a run whose creation it missed', async () => {
    const fake = installFakeFetch({
      'GET /api/runs/15': { body: makeDetail({ id: 15, platformsDone: 1, steps: [makeStep('alpha', { status: 'completed', eventsFound: 8 }), makeStep('bravo', { status: 'running' }), makeStep('charlie')] }) },
    });
    const store = useActiveRunStore();
    store.applyEvent(ev.started(600, 2, makeRun({ id: 15 })));
    await flush();
    expect(fake.callsTo('GET', '/api/runs/15')).toHaveLength(1);
    expect(store.run?.steps.map((s) => s.status)).toEqual(['completed', 'running', 'pending']);
  });
});
