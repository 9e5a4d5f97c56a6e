import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consensusOf, OUTLIER_MIN_OTHERS, outliersByPlatform } from '../../src/quality/outliers.js';

describe('outliers against the consensus', () => {
  it('judges each price against the median of the others, past the threshold either way', () => {
    expect(consensusOf([2.1, 2.0, 2.2, 2.05, 3.5], 0.25).map((judged) => judged.outlier)).toEqual([false, false, false, false, true]);
    expect(consensusOf([2.1, 2.0, 2.2, 2.05, 3.5], 0.25)[4]).toEqual({ consensus: 2.075, outlier: true });
    expect(consensusOf([2.1, 2.0, 2.2, 1.4], 0.25)[3]).toEqual({ consensus: 2.1, outlier: true });
    // 2.6 is 23.8% above 2.1: within 25%.
    expect(consensusOf([2.1, 2.0, 2.2, 2.6], 0.25)[3]).toEqual({ consensus: 2.1, outlier: false });
  });

  it('has no consensus with fewer than three other bookmakers', () => {
    expect(OUTLIER_MIN_OTHERS).toBe(3);
    expect(consensusOf([2.0, 2.1, 9.0], 0.25)).toEqual([
      { consensus: null, outlier: false },
      { consensus: null, outlier: false },
      { consensus: null, outlier: false },
    ]);
  });

  it('never flags prices that agree within the threshold', () => {
    fc.assert(
      fc.property(fc.double({ min: 1.01, max: 100, noNaN: true }), fc.array(fc.double({ min: -0.1, max: 0.1, noNaN: true }), { minLength: 4, maxLength: 20 }), (base, spread) => {
        const prices = spread.map((share) => base * (1 + share));
        expect(consensusOf(prices, 0.25).some((judged) => judged.outlier)).toBe(false);
      }),
    );
  });

  it('counts, per platform, the outliers among the prices of the run being judged only, each selection on its own', () => {
    const price = (selection: string, platform: string, value: number, ofThisRun = false) => ({ selection, platform, price: value, ofThisRun });
    const counts = outliersByPlatform(
      [
        price('e1 home', 'a', 2.0), price('e1 home', 'b', 2.1), price('e1 home', 'c', 2.05), price('e1 home', 'swapped', 3.6, true), price('e1 home', 'fine', 2.02, true),
        price('e1 away', 'a', 3.6), price('e1 away', 'b', 3.5), price('e1 away', 'c', 3.55), price('e1 away', 'swapped', 2.0, true),
        // An outlier from another run is not this run's to count.
        price('e2 home', 'a', 2.0), price('e2 home', 'b', 2.1), price('e2 home', 'c', 2.05), price('e2 home', 'old', 9.0),
      ],
      0.25,
    );
    expect(Object.fromEntries(counts)).toEqual({ swapped: 2, fine: 0 });
  });
});
