/** Views with a real router (memory history) and a fake fetch (the service itself is tested e2e later). */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter } from 'vue-router';
import { defineComponent, h } from 'vue';
import { RouterView } from 'vue-router';
import { routes } from '@/router';
import { makeDetail, makeRun, makeStep } from './helpers/fixtures';
import { apiError, flush, installFakeFetch } from './helpers/fakeFetch';
import { useToastsStore } from '@/stores/toasts';

const Root = defineComponent({ render: () => h(RouterView) });

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  await router.isReady();
  const wrapper = mount(Root, { global: { plugins: [router] } });
  await flush();
  return { wrapper, router };
}

beforeEach(() => {
  setActivePinia(createPinia());
});

describe('RunsView', () => {
  it('reads filters from the URL, writes them back, and pages with the cursor (Older/Newer)', async () => {
    const fake = installFakeFetch({
      'GET /api/runs': (call) => {
        const cursor = call.url.searchParams.get('cursor');
        return cursor === 'p2'
          ? { body: { items: [makeRun({ id: 5, status: 'failed', failureReason: 'stale' })], nextCursor: null } }
          : { body: { items: [makeRun({ id: 9, status: 'failed', failureReason: 'stale' })], nextCursor: 'p2' } };
      },
    });
    const { wrapper, router } = await mountAt('/runs?status=failed');
    expect(fake.calls[0]!.url.searchParams.get('status')).toBe('failed');
    expect((wrapper.get('[data-testid="filter-status"]').element as HTMLSelectElement).value).toBe('failed');
    expect(wrapper.findAll('[data-testid="run-row"]').map((r) => r.attributes('data-run-id'))).toEqual(['9']);
    expect(wrapper.get('[data-testid="page-newer"]').attributes('disabled')).toBeDefined();

    await wrapper.get('[data-testid="page-older"]').trigger('click');
    await flush();
    expect(router.currentRoute.value.query).toEqual({ status: 'failed', cursor: 'p2' });
    expect(wrapper.findAll('[data-testid="run-row"]').map((r) => r.attributes('data-run-id'))).toEqual(['5']);
    expect(wrapper.get('[data-testid="page-older"]').attributes('disabled')).toBeDefined();

    await wrapper.get('[data-testid="page-newer"]').trigger('click');
    await flush();
    expect(router.currentRoute.value.query).toEqual({ status: 'failed' });
    expect(wrapper.findAll('[data-testid="run-row"]').map((r) => r.attributes('data-run-id'))).toEqual(['9']);

    await wrapper.get('[data-testid="filter-trigger"]').setValue('retry');
    await flush();
    expect(router.currentRoute.value.query).toEqual({ status: 'failed', trigger: 'retry' });
    expect(fake.calls.at(-1)!.url.searchParams.get('trigger')).toBe('retry');
    wrapper.unmount();
  });
});

describe('RunDetailView', () => {
  it('a connection_failed run not yet retried offers Retry, which starts a retry run and opens it', async () => {
    const lost = makeDetail({
      id: 41,
      status: 'connection_failed',
      failureReason: 'connection_lost',
      platformsDone: 1,
      steps: [makeStep('alpha', { status: 'completed', eventsFound: 3, durationMs: 800 }), makeStep('bravo', { status: 'skipped' }), makeStep('charlie', { status: 'skipped' })],
      traceId: 'abc123',
      traceUrl: 'http://grafana.test/explore?traceId=abc123',
    });
    const fake = installFakeFetch({
      'GET /api/runs/41': { body: lost },
      'POST /api/runs': { status: 202, body: makeDetail({ id: 42, status: 'pending', trigger: 'retry', retryOf: 41 }) },
      'GET /api/runs/42': { body: makeDetail({ id: 42, status: 'running', trigger: 'retry', retryOf: 41 }) },
    });
    const { wrapper, router } = await mountAt('/runs/41');
    expect(wrapper.get('[data-testid="status-badge"]').text()).toBe('Connection lost');
    expect(wrapper.get('[data-testid="run-failure-reason"]').attributes('data-reason')).toBe('connection_lost');
    expect(wrapper.get('[data-testid="run-trace-link"]').attributes('href')).toBe('http://grafana.test/explore?traceId=abc123');
    expect(wrapper.findAll('[data-step-status="skipped"]')).toHaveLength(2);

    await wrapper.get('[data-testid="run-retry"]').trigger('click');
    await flush();
    expect(fake.callsTo('POST', '/api/runs')[0]!.body).toEqual({ retryOf: 41 });
    expect(router.currentRoute.value.path).toBe('/runs/42');
    expect(wrapper.get('[data-testid="run-retry-of"]').text()).toBe('run #41');
    wrapper.unmount();
  });

  it('a run already retried links to its retry instead of offering Retry; 404 shows the error', async () => {
    installFakeFetch({
      'GET /api/runs/41': { body: makeDetail({ id: 41, status: 'connection_failed', failureReason: 'connection_lost', retriedBy: 42 }) },
      'GET /api/runs/77': apiError(404, 'not_found', 'Run 77 not found'),
    });
    const { wrapper, router } = await mountAt('/runs/41');
    expect(wrapper.find('[data-testid="run-retry"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="run-retried-by"]').attributes('href')).toBe('/runs/42');
    await router.push('/runs/77');
    await flush();
    expect(wrapper.get('[data-testid="run-detail-error"]').text()).toBe('Run 77 not found');
    wrapper.unmount();
  });

  it('a running run offers Cancel run, which cancels it and shows it Cancelled at once; an ended one offers none', async () => {
    const running = makeDetail({
      id: 50,
      status: 'running',
      platformsDone: 1,
      steps: [makeStep('alpha', { status: 'completed', eventsFound: 3, durationMs: 800 }), makeStep('bravo', { status: 'running' })],
    });
    const cancelled = makeDetail({
      ...running,
      status: 'cancelled',
      finishedAt: '2026-01-27T16:00:09.000Z',
      steps: [running.steps[0]!, makeStep('bravo', { status: 'failed', error: 'stopped: the run was cancelled' })],
    });
    const fake = installFakeFetch({
      'GET /api/runs/50': { body: running },
      'POST /api/runs/50/cancel': { body: cancelled },
      'GET /api/runs/51': { body: makeDetail({ id: 51, status: 'completed' }) },
    });
    const { wrapper, router } = await mountAt('/runs/50');
    expect(wrapper.get('[data-testid="status-badge"]').text()).toBe('Running');
    await wrapper.get('[data-testid="run-cancel"]').trigger('click');
    await flush();
    expect(fake.callsTo('POST', '/api/runs/50/cancel')).toHaveLength(1);
    expect(wrapper.get('[data-testid="status-badge"]').text()).toBe('Cancelled');
    expect(wrapper.find('[data-testid="run-cancel-box"]').exists()).toBe(false);
    expect(wrapper.findAll('[data-step-status="failed"]')).toHaveLength(1);
    await router.push('/runs/51');
    await flush();
    expect(wrapper.find('[data-testid="run-cancel"]').exists()).toBe(false);
    wrapper.unmount();
  });

  it('Cancel run on a run that ended meanwhile says so and shows how it ended', async () => {
    const fake = installFakeFetch({
      'GET /api/runs/52': () => ({ body: makeDetail({ id: 52, status: fake.callsTo('POST', '/api/runs/52/cancel').length > 0 ? 'completed' : 'running' }) }),
      'POST /api/runs/52/cancel': apiError(409, 'run_finished', 'run 52 already ended completed: only a pending or running run can be cancelled'),
    });
    const { wrapper } = await mountAt('/runs/52');
    await wrapper.get('[data-testid="run-cancel"]').trigger('click');
    await flush();
    expect(useToastsStore().items.map((toast) => toast.message)).toContain('Run #52 had already ended.');
    expect(wrapper.get('[data-testid="status-badge"]').text()).toBe('Completed');
    wrapper.unmount();
  });

  it('a failed run shows its reason and no Retry', async () => {
    installFakeFetch({ 'GET /api/runs/30': { body: makeDetail({ id: 30, status: 'failed', failureReason: 'stale' }) } });
    const { wrapper } = await mountAt('/runs/30');
    expect(wrapper.get('[data-testid="status-badge"]').text()).toBe('Failed · stale');
    expect(wrapper.find('[data-testid="run-retry-box"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="run-failure-reason"]').text()).toMatch(/watchdog/);
    wrapper.unmount();
  });
});
