import { describe, expect, it } from 'vitest';
import { judgeCoverage, MIN_PREVIOUS_COVERAGE } from '../../src/quality/coverage.js';

describe('the coverage check', () => {
  const previous = (shares: number[]) => shares.map((share) => ({ copperbet: share, tideway: 1 }));

  it('flags a bookmaker below the fraction of the median of its previous shares', () => {
    const verdicts = judgeCoverage(new Map([['copperbet', 0.7], ['tideway', 0.95]]), previous([1, 0.9, 1, 0.1]), 0.8);
    expect(verdicts).toEqual([
      { bookmaker: 'copperbet', share: 0.7, usual: 0.95, dropped: true },
      { bookmaker: 'tideway', share: 0.95, usual: 1, dropped: false },
    ]);
  });

  it('judges nothing before MIN_PREVIOUS_COVERAGE previous shares, and a bookmaker new to the platform on its own', () => {
    expect(MIN_PREVIOUS_COVERAGE).toBe(3);
    expect(judgeCoverage(new Map([['copperbet', 0.1]]), previous([1, 1]), 0.8)).toEqual([{ bookmaker: 'copperbet', share: 0.1, usual: null, dropped: false }]);
    expect(judgeCoverage(new Map([['newcomer', 0.1]]), previous([1, 1, 1]), 0.8)[0]).toMatchObject({ usual: null, dropped: false });
  });

  it('at the fraction is no drop, and a fraction of 0 never flags', () => {
    expect(judgeCoverage(new Map([['copperbet', 0.8]]), previous([1, 1, 1]), 0.8)[0]!.dropped).toBe(false);
    expect(judgeCoverage(new Map([['copperbet', 0]]), previous([1, 1, 1]), 0)[0]!.dropped).toBe(false);
  });
});
