import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uniqueSelections, type NewOdds } from '../../src/db/tables/odds.js';

const row = fc.record({
  eventKey: fc.constantFrom('e1', 'e2', 'e\u00001'),
  eventName: fc.constant('A v B'),
  market: fc.constantFrom('match_result', 'totals'),
  selection: fc.constantFrom('home', 'away', 'over 2.5'),
  bookmaker: fc.constantFrom('b1', 'b2'),
  price: fc.double({ min: 1.01, max: 1000, noNaN: true }),
  priceText: fc.string(),
});

describe('uniqueSelections', () => {
  it('keeps each selection once, at its first place, with its last price', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), (batch: NewOdds[]) => {
        const key = (odds: NewOdds) => JSON.stringify([odds.eventKey, odds.market, odds.selection, odds.bookmaker]);
        const expected = [...new Map(batch.map((odds) => [key(odds), odds])).values()];
        expect(uniqueSelections(batch)).toEqual(expected);
      }),
    );
  });

  it('returns the batch itself when nothing repeats', () => {
    const batch: NewOdds[] = [
      { eventKey: 'e1', eventName: 'A v B', market: 'match_result', selection: 'home', bookmaker: 'b', price: 2, priceText: '2' },
      { eventKey: 'e1', eventName: 'A v B', market: 'match_result', selection: 'away', bookmaker: 'b', price: 3, priceText: '3' },
    ];
    expect(uniqueSelections(batch)).toBe(batch);
  });
});
