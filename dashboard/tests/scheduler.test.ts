/** Scheduler: the scrape job is read by id (the old product read jobs[0] and showed the watchdog's interval). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { mount, RouterLinkStub } from '@vue/test-utils';
import SchedulerCard from '@/components/SchedulerCard.vue';
import { findJob, useSchedulerStore, validateInterval } from '@/stores/scheduler';
import { ev, makeScheduler } from './helpers/fixtures';
import { flush, installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => {
  setActivePinia(createPinia());
});
afterEach(() => {
  vi.useRealTimers();
});

function mountCard() {
  return mount(SchedulerCard, { global: { stubs: { RouterLink: RouterLinkStub } } });
}

describe('scheduler job lookup', () => {
  it('finds the scrape job by id when the watchdog is listed first', () => {
    const state = makeScheduler();
    expect(state.jobs[0]!.id).toBe('detect_stale_runs');
    expect(findJob(state, 'scrape_all_platforms')?.intervalSeconds).toBe(900);
    expect(findJob(state, 'detect_stale_runs')?.intervalSeconds).toBe(120);
    expect(findJob(null, 'scrape_all_platforms')).toBeNull();
  });

  it('the card shows the scrape interval and a ticking countdown to its next run, not the watchdog’s', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-27T16:10:48.000Z'));
    installFakeFetch({ 'GET /api/scheduler': { body: makeScheduler() } });
    await useSchedulerStore().load();
    const wrapper = mountCard();
    expect(wrapper.get('[data-testid="scheduler-interval"]').text()).toBe('15 min');
    expect(wrapper.get('[data-testid="scheduler-interval"]').attributes('data-seconds')).toBe('900');
    expect(wrapper.get('[data-testid="scheduler-next-run"]').text()).toBe('in 4m 12s');
    expect(wrapper.get('[data-testid="scheduler-watchdog-interval"]').text()).toBe('every 2 min');

    vi.advanceTimersByTime(2000);
    await wrapper.vm.$nextTick();
    expect(wrapper.get('[data-testid="scheduler-next-run"]').text()).toBe('in 4m 10s');
    wrapper.unmount();
  });

  it('shows the paused state and resumes with the operator action', async () => {
    const fake = installFakeFetch({
      'POST /api/scheduler/resume': { body: makeScheduler({ paused: false }) },
    });
    const store = useSchedulerStore();
    store.applyEvent(ev.scheduler({ id: 5, scheduler: makeScheduler({ paused: true }) }));
    const wrapper = mountCard();
    expect(wrapper.find('[data-testid="scheduler-paused"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="scheduler-next-run"]').text()).toBe('paused');
    expect(wrapper.find('[data-testid="scheduler-pause"]').exists()).toBe(false);
    await wrapper.get('[data-testid="scheduler-resume"]').trigger('click');
    await flush();
    expect(fake.callsTo('POST', '/api/scheduler/resume')).toHaveLength(1);
    expect(store.paused).toBe(false);
    expect(wrapper.find('[data-testid="scheduler-pause"]').exists()).toBe(true);
    wrapper.unmount();
  });

  it('validates the interval (10..86400 whole seconds) before sending it', async () => {
    expect(validateInterval('9')).toMatch(/Between 10 and 86400/);
    expect(validateInterval('86401')).toMatch(/Between/);
    expect(validateInterval('12.5')).toMatch(/whole/);
    expect(validateInterval('')).toMatch(/number/);
    expect(validateInterval('10')).toBeNull();
    expect(validateInterval(86400)).toBeNull();

    const fake = installFakeFetch({
      'PATCH /api/scheduler/jobs/scrape_all_platforms': (call) => ({
        body: { ...makeScheduler().jobs[1]!, intervalSeconds: (call.body as { intervalSeconds: number }).intervalSeconds },
      }),
    });
    useSchedulerStore().applyEvent(ev.scheduler({ id: 1, scheduler: makeScheduler() }));
    const wrapper = mountCard();
    await wrapper.get('[data-testid="scheduler-edit-interval"]').trigger('click');
    await wrapper.get('[data-testid="scheduler-interval-input"]').setValue('5');
    await wrapper.get('form').trigger('submit');
    expect(wrapper.get('[data-testid="scheduler-interval-error"]').text()).toMatch(/Between 10 and 86400/);
    expect(fake.calls).toHaveLength(0);

    await wrapper.get('[data-testid="scheduler-interval-input"]').setValue('600');
    await wrapper.get('form').trigger('submit');
    await flush();
    expect(fake.calls[0]).toMatchObject({ method: 'PATCH', body: { intervalSeconds: 600 } });
    expect(wrapper.get('[data-testid="scheduler-interval"]').text()).toBe('10 min');
    // The watchdog job was left alone.
    expect(useSchedulerStore().watchdogJob?.intervalSeconds).toBe(120);
    wrapper.unmount();
  });
});
