import { describe, expect, it } from 'vitest';
import { freshnessOf, staleAfterSeconds } from '../../src/liveState/staleness.js';
import { STALE_AFTER_INTERVALS } from '../../src/shared/contract.js';

describe('stale: no successful scrape for longer than 3 scrape intervals', () => {
  const last = new Date('2026-01-01T00:00:00.000Z');
  const at = (seconds: number) => last.getTime() + seconds * 1000;

  it('is 3 intervals, the number the alert rules use', () => {
    expect(STALE_AFTER_INTERVALS).toBe(3);
    expect(staleAfterSeconds(60)).toBe(180);
    expect(staleAfterSeconds(3600)).toBe(10_800);
  });

  it('turns stale just after the threshold, at any interval', () => {
    for (const interval of [60, 300, 3600]) {
      const threshold = 3 * interval;
      expect(freshnessOf('alpha', last, interval, at(threshold))).toEqual({
        platform: 'alpha',
        lastSuccessAt: last.toISOString(),
        stale: false,
        staleAt: new Date(at(threshold)).toISOString(),
      });
      expect(freshnessOf('alpha', last, interval, at(threshold) + 1).stale).toBe(true);
      expect(freshnessOf('alpha', last, interval, at(2 * interval)).stale).toBe(false);
    }
  });

  it('never calls a platform without any successful scrape stale: it has no age', () => {
    expect(freshnessOf('alpha', null, 300, at(1e6))).toEqual({ platform: 'alpha', lastSuccessAt: null, stale: false, staleAt: null });
  });
});
