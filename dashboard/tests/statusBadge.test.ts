import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { FAILURE_REASONS, RUN_STATUSES } from '@contract';
import type { RunStatus } from '@contract';
import StatusBadge from '@/components/StatusBadge.vue';
import { runStatusBadge } from '@/lib/status';

describe('status badge mapping', () => {
  const expected: Record<RunStatus, string> = {
    pending: 'Pending',
    running: 'Running',
    completed: 'Completed',
    partial: 'Partial',
    failed: 'Failed',
    connection_failed: 'Connection lost',
    cancelled: 'Cancelled',
  };

  it.each(RUN_STATUSES.map((s) => [s, expected[s]] as const))('%s reads "%s"', (status, label) => {
    const wrapper = mount(StatusBadge, { props: { status } });
    const badge = wrapper.get('[data-testid="status-badge"]');
    expect(badge.attributes('data-status')).toBe(status);
    expect(badge.text()).toBe(label);
  });

  it('failed shows its reason: stale, interrupted; all platforms failed is plain "Failed"', () => {
    expect(runStatusBadge('failed', 'stale').label).toBe('Failed · stale');
    expect(runStatusBadge('failed', 'interrupted').label).toBe('Failed · interrupted');
    expect(runStatusBadge('failed', 'all_platforms_failed').label).toBe('Failed');
    const wrapper = mount(StatusBadge, { props: { status: 'failed', failureReason: 'stale' } });
    expect(wrapper.text()).toBe('Failed · stale');
    expect(wrapper.get('[data-status="failed"]').attributes('data-failure-reason')).toBe('stale');
  });

  it('Connection lost is never a "Failed" variant: own label, own destructive style, plug icon', () => {
    const lost = mount(StatusBadge, { props: { status: 'connection_failed', failureReason: 'connection_lost' } });
    const stale = mount(StatusBadge, { props: { status: 'failed', failureReason: 'stale' } });
    expect(lost.text()).toBe('Connection lost');
    expect(lost.text()).not.toMatch(/fail/i);
    expect(lost.classes()).toContain('tone-connection');
    expect(stale.classes()).toContain('tone-danger');
    expect(lost.find('svg.icon').exists()).toBe(true);
    expect(stale.find('svg.icon').exists()).toBe(false);
  });

  it('every status and reason combination has a label and a tone', () => {
    for (const status of RUN_STATUSES) {
      for (const reason of [null, ...FAILURE_REASONS]) {
        const spec = runStatusBadge(status, reason);
        expect(spec.label.length).toBeGreaterThan(0);
        expect(spec.tone).toBeTruthy();
      }
    }
    const tones = new Set(RUN_STATUSES.map((s) => runStatusBadge(s).tone));
    expect(tones.size).toBe(RUN_STATUSES.length); // each status looks different
  });
});
