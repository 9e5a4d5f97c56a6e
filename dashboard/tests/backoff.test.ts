import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, nominalDelay } from '@/composables/backoff';

/** The first `count` delays of the (endless) schedule of automatic retries. */
const backoffSchedule = (count: number, random: () => number) => Array.from({ length: count }, (_, attempt) => backoffDelay(attempt, random));

describe('reconnect backoff schedule', () => {
  it('starts at 1 s and doubles up to a 30 s ceiling', () => {
    expect(Array.from({ length: 8 }, (_, i) => nominalDelay(i))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('has no end: attempt 10, 100 and 10,000 still get a delay, capped at 30 s', () => {
    expect('maxRetries' in DEFAULT_BACKOFF).toBe(false);
    for (const attempt of [10, 11, 100, 10_000]) {
      expect(nominalDelay(attempt)).toBe(30_000);
      expect(backoffDelay(attempt, () => 0.5)).toBe(30_000);
      expect(backoffDelay(attempt, () => 0)).toBe(24_000);
    }
  });

  it('without jitter (random = 0.5) the schedule is exactly the nominal one, as long as asked', () => {
    expect(backoffSchedule(12, () => 0.5)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000, 30000, 30000]);
  });

  it('jitter spreads each delay by ±20 % but never below 1 s nor above 30 s', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const low = backoffDelay(attempt, () => 0);
      const high = backoffDelay(attempt, () => 0.999999);
      const nominal = nominalDelay(attempt);
      expect(low).toBeGreaterThanOrEqual(Math.max(1000, nominal * 0.8) - 1);
      expect(high).toBeLessThanOrEqual(Math.min(30000, nominal * 1.2) + 1);
      expect(low).toBeGreaterThanOrEqual(1000);
      expect(high).toBeLessThanOrEqual(30000);
    }
    // Jitter really varies the delay where there is room for it.
    expect(backoffDelay(3, () => 0)).toBe(6400);
    expect(backoffDelay(3, () => 0.999999)).toBe(9600);
  });
});
