/** The stores hand out their state read-only: it changes only through their actions. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useActiveRunStore } from '@/stores/activeRun';
import { useAuthStore } from '@/stores/auth';
import { useOddsStore } from '@/stores/odds';
import { usePlatformsStore } from '@/stores/platforms';
import { useRunsStore } from '@/stores/runs';
import { useSchedulerStore } from '@/stores/scheduler';
import { useToastsStore } from '@/stores/toasts';
import { useTracesStore } from '@/stores/traces';
import { useTrendsStore } from '@/stores/trends';
import { makeRun } from './helpers/fixtures';

beforeEach(() => setActivePinia(createPinia()));

const STORES = { useActiveRunStore, useAuthStore, useOddsStore, usePlatformsStore, useRunsStore, useSchedulerStore, useToastsStore, useTracesStore, useTrendsStore };

describe('store state', () => {
  for (const [name, useStore] of Object.entries(STORES)) {
    it(`${name} has no writable state, and assigning what it shows changes nothing`, () => {
      const store = useStore() as unknown as Record<string, unknown> & { $state: object };
      expect(Object.keys(store.$state)).toEqual([]);
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      for (const [key, value] of Object.entries(store)) {
        if (key.startsWith('$') || key.startsWith('_') || typeof value === 'function') continue;
        store[key] = 'changed from outside';
        expect(store[key], `${name}.${key}`).toEqual(value);
      }
      warn.mockRestore();
    });
  }

  it('a run already retried is marked through an action of the runs store', () => {
    const runs = useRunsStore();
    runs.putSnapshot(makeRun({ id: 41, status: 'connection_failed' }));
    runs.setRetriedBy(41, 42);
    expect(runs.byId[41]!.retriedBy).toBe(42);
    runs.setRetriedBy(7, 8); // a run not held: nothing to mark
    expect(runs.byId[7]).toBeUndefined();
  });
});
