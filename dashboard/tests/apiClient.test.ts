/** The typed API client: bearer token, typed errors, the token prompt on 401. Fake fetch (no server here). */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { api, ApiError } from '@/api/client';
import { TOKEN_STORAGE_KEY, useAuthStore } from '@/stores/auth';
import { makeDetail, makeScheduler } from './helpers/fixtures';
import { apiError, flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => {
  sessionStorage.clear();
  setActivePinia(createPinia());
});

describe('API client', () => {
  it('turns an error body into a typed ApiError with code and details', async () => {
    installFakeFetch({ 'POST /api/runs': apiError(409, 'run_active', 'A run is already active', { activeRunId: 17 }) });
    const err = await api.startRun({ observe: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'run_active', message: 'A run is already active' });
    expect((err as ApiError).detailNumber('activeRunId')).toBe(17);
  });

  it('a body that is not the error shape still gives an ApiError with the HTTP status', async () => {
    installFakeFetch({ 'GET /api/runs/5': { status: 502, body: 'Bad gateway' } });
    const err = await api.getRun(5).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('reads only the error codes of the service: a code outside ERROR_CODES gives the HTTP status instead', async () => {
    installFakeFetch({ 'GET /api/runs/5': { status: 418, body: { error: { code: 'teapot', message: 'short and stout' } } } });
    const err = await api.getRun(5).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 418, code: 'http_418' });
  });

  it('sends the stored operator token as a bearer token', async () => {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, 's3cret');
    setActivePinia(createPinia());
    const fake = installFakeFetch({ 'POST /api/scheduler/pause': { body: makeScheduler({ paused: true }) } });
    await api.pauseScheduler();
    expect(fake.calls[0]!.headers.authorization).toBe('Bearer s3cret');
  });

  it('asks for the token first when the service requires one and none is stored', async () => {
    const auth = useAuthStore();
    auth.setAuthRequired(true);
    const fake = installFakeFetch({ 'POST /api/runs': { status: 202, body: makeDetail({ id: 3 }) } });
    const pending = api.startRun({ observe: true });
    await flush();
    expect(auth.promptOpen).toBe(true);
    expect(fake.calls).toHaveLength(0);
    auth.submitToken('tok-1');
    expect((await pending).id).toBe(3);
    expect(fake.calls[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe('tok-1'); // entered once, kept
  });

  it('on 401 forgets the token, asks again and retries once with the new one', async () => {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, 'old');
    setActivePinia(createPinia());
    const auth = useAuthStore();
    const fake = installFakeFetch({
      'POST /api/scheduler/resume': (call) =>
        call.headers.authorization === 'Bearer new' ? { body: makeScheduler() } : apiError(401, 'unauthorized', 'bad token'),
    });
    const pending = api.resumeScheduler();
    await flush();
    expect(auth.promptOpen).toBe(true);
    expect(auth.promptReason).toBe('rejected');
    expect(sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
    auth.submitToken('new');
    await pending;
    expect(fake.calls.map((c) => c.headers.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('cancelling the prompt fails the call with unauthorized and sends nothing', async () => {
    const auth = useAuthStore();
    auth.setAuthRequired(true);
    const fake = installFakeFetch({});
    const pending = api.pauseScheduler().catch((e: unknown) => e);
    await flush();
    auth.cancelPrompt();
    expect(await pending).toMatchObject({ code: 'unauthorized' });
    expect(fake.calls).toHaveLength(0);
  });
});
