/**
 * Auto-rescrape after a lost connection: once per lost run, never on reload when the sessionStorage guard is set,
 * and the server's 409 already_retried just shown. Fake fetch; the real once-only rule is tested on the server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { effectScope } from 'vue';
import { api } from '@/api/client';
import { autoRescrape, autoRetryKey, resetAutoRescrapeMemory } from '@/composables/autoRescrape';
import { useLiveSync } from '@/composables/useLiveSync';
import { useActiveRunStore } from '@/stores/activeRun';
import { useToastsStore } from '@/stores/toasts';
import { makeDetail, makeRun, makeScheduler } from './helpers/fixtures';
import { FakeEventSource } from './helpers/fakeEventSource';
import { apiError, flush, installFakeFetch } from './helpers/fakeFetch';

const lost = makeRun({ id: 41, status: 'connection_failed', failureReason: 'connection_lost', platformsDone: 1 });
const retryRun = makeDetail({ id: 42, status: 'pending', trigger: 'retry', retryOf: 41 });

beforeEach(() => {
  setActivePinia(createPinia());
  sessionStorage.clear();
  resetAutoRescrapeMemory();
  FakeEventSource.reset();
});

describe('autoRescrape()', () => {
  it('starts one retry run of the latest connection_failed run and sets the guard first', async () => {
    const fake = installFakeFetch({
      'GET /api/runs': { body: { items: [lost], nextCursor: null } },
      'POST /api/runs': (call) => {
        // The guard is already written when the request leaves: a reload now would not try again.
        expect(sessionStorage.getItem(autoRetryKey(41))).not.toBeNull();
        return { status: 202, body: { ...retryRun, retryOf: (call.body as { retryOf: number }).retryOf } };
      },
    });
    const outcome = await autoRescrape({ api, storage: sessionStorage });
    expect(outcome).toMatchObject({ kind: 'started', lostRunId: 41, retryRun: { id: 42 } });
    expect(fake.calls[0]!.url.searchParams.get('limit')).toBe('1');
    expect(fake.callsTo('POST', '/api/runs')[0]!.body).toEqual({ retryOf: 41 });

    // Called again in the same page: the guard holds.
    const again = await autoRescrape({ api, storage: sessionStorage });
    expect(again).toEqual({ kind: 'guarded', lostRunId: 41 });
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(1);
  });

  it('does nothing on a reload when the sessionStorage guard for that run is set', async () => {
    sessionStorage.setItem(autoRetryKey(41), '2026-01-27T16:00:00Z');
    const fake = installFakeFetch({ 'GET /api/runs': { body: { items: [lost], nextCursor: null } } });
    const outcome = await autoRescrape({ api, storage: sessionStorage });
    expect(outcome.kind).toBe('guarded');
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(0);
  });

  it('handles 409 already_retried by reporting the existing retry run', async () => {
    installFakeFetch({
      'GET /api/runs': { body: { items: [lost], nextCursor: null } },
      'POST /api/runs': apiError(409, 'already_retried', 'Run 41 was already retried', { retriedBy: 40 }),
    });
    const outcome = await autoRescrape({ api, storage: sessionStorage });
    expect(outcome).toEqual({ kind: 'already_retried', lostRunId: 41, retriedBy: 40 });
  });

  it.each([
    ['the latest run is not connection_failed', makeRun({ id: 50, status: 'failed', failureReason: 'stale' })],
    ['the latest run was already retried', { ...lost, retriedBy: 43 }],
  ])('does nothing when %s', async (_label, latest) => {
    const fake = installFakeFetch({ 'GET /api/runs': { body: { items: [latest], nextCursor: null } } });
    expect((await autoRescrape({ api, storage: sessionStorage })).kind).toBe('nothing');
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(0);
  });
});

describe('auto-rescrape on page load (useLiveSync)', () => {
  const routes = (post: unknown) => ({
    'GET /api/meta': { body: { version: 't', authRequired: false, platforms: [], connectionGraceMs: 5000 } },
    'GET /api/runs': { body: { items: [lost], nextCursor: null } },
    'GET /api/runs/active': { body: { run: null } },
    'GET /api/scheduler': { body: makeScheduler() },
    'GET /api/platforms': { body: { items: [] } },
    'POST /api/runs': post as never,
  });
  let scope = effectScope();
  afterEach(() => scope.stop());

  function load() {
    scope = effectScope();
    scope.run(() => useLiveSync({ EventSource: FakeEventSource, sessionStorage }));
  }

  it('waits for the stream (the retry run needs a watcher), then retries once, follows the run and tells the operator', async () => {
    const fake = installFakeFetch(routes({ status: 202, body: retryRun }));
    load();
    await flush();
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(0); // not connected yet
    FakeEventSource.last.open();
    await flush();
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(1);
    expect(useActiveRunStore().run?.id).toBe(42);
    const toast = useToastsStore().items.at(-1);
    expect(toast?.message).toBe('Connection was lost during run #41; started retry run #42.');

    // A reconnect later does not retry again.
    FakeEventSource.last.fail();
    FakeEventSource.instances.length = 0;
    scope.stop();

    // Nor does a reload of the page (new stores, new scope, same sessionStorage).
    setActivePinia(createPinia());
    resetAutoRescrapeMemory();
    load();
    FakeEventSource.last.open();
    await flush();
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(1);
  });

  it('on 409 already_retried it shows the existing retry and starts nothing else', async () => {
    const fake = installFakeFetch(routes(apiError(409, 'already_retried', 'already retried', { retriedBy: 39 })));
    load();
    FakeEventSource.last.open();
    await flush();
    expect(fake.callsTo('POST', '/api/runs')).toHaveLength(1);
    expect(useToastsStore().items.at(-1)?.message).toBe(
      'Connection was lost during run #41; it was already retried by run #39.',
    );
    expect(useToastsStore().items.at(-1)?.link?.to).toBe('/runs/39');
  });
});
