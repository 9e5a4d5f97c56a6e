import { describe, expect, it } from 'vitest';
import type { NewOdds } from '../../src/db/tables/odds.js';
import { checkMarkets, implausibleTotal, MAX_EXAMPLES } from '../../src/quality/implausibleMarkets.js';
import { simulatedEvents } from '../../src/platforms/simulator/sportingEvents.js';
import { SIMULATED_BOOKMAKERS } from '../../src/platforms/simulatedFeeds.js';
import { SIMULATED_ODDS_API_BOOKMAKERS } from '../../src/platforms/simulator/oddsApiRoute.js';

const odds = (eventKey: string, market: string, prices: Record<string, number>, bookmaker = 'b1'): NewOdds[] =>
  Object.entries(prices).map(([selection, price]) => ({ eventKey, eventName: `${eventKey} v X`, market, selection, bookmaker, price, priceText: String(price) }));

describe('the implausible-markets check', () => {
  it('judges complete markets only: home/draw/away, and over/under at one line', () => {
    const check = checkMarkets(
      [
        ...odds('e1', 'match_result', { home: 2.1, draw: 3.4, away: 3.6 }),
        ...odds('e2', 'match_result', { home: 2.1, away: 3.6 }), // no draw: read in part
        ...odds('e3', 'totals', { 'over 2.5': 1.9, 'under 2.5': 1.95, 'over 3.5': 3.1 }), // 3.5 has no under
        ...odds('e4', 'spreads', { 'home -1': 2, 'away +1': 1.8 }), // not a family the check knows
      ],
      1.25,
    );
    expect(check.checked).toBe(2);
    expect(implausibleTotal(check)).toBe(0);
  });

  it('flags an overround below 1 or above the bound, and a price out of range, with examples', () => {
    const check = checkMarkets(
      [
        ...odds('low', 'match_result', { home: 3.2, draw: 11.5, away: 6.4 }), // fractional prices misread
        ...odds('high', 'totals', { 'over 2.5': 1.2, 'under 2.5': 1.3 }),
        ...odds('range', 'match_result', { home: 1.005, draw: 40, away: 90 }),
        ...odds('fine', 'match_result', { home: 2.1, draw: 3.4, away: 3.6 }, 'b2'),
      ],
      1.25,
    );
    expect(check.checked).toBe(4);
    expect(Object.fromEntries(check.implausible)).toEqual({ overround_below_one: 1, overround_above_bound: 1, price_out_of_range: 1 });
    expect(check.examples[0]).toEqual({ reason: 'overround_below_one', eventName: 'low v X', bookmaker: 'b1', market: 'match_result', prices: { home: 3.2, draw: 11.5, away: 6.4 }, overround: 0.5557 });
    expect(check.examples[1]).toMatchObject({ reason: 'overround_above_bound', market: 'totals 2.5', prices: { over: 1.2, under: 1.3 } });
  });

  it('judges each bookmaker\'s market on its own, adds up across batches and keeps at most a few examples', () => {
    let check = checkMarkets(odds('e1', 'match_result', { home: 1.2, draw: 1.2, away: 1.2 }, 'b1'), 1.25);
    for (let batch = 0; batch < 3; batch += 1) {
      check = checkMarkets([...odds(`e${batch}`, 'match_result', { home: 1.2, draw: 1.2, away: 1.2 }, 'b2'), ...odds(`e${batch}`, 'match_result', { home: 1.2, draw: 1.2, away: 1.2 }, 'b3')], 1.25, check);
    }
    expect(check.checked).toBe(7);
    expect(implausibleTotal(check)).toBe(7);
    expect(check.examples).toHaveLength(MAX_EXAMPLES);
  });
});

describe('the simulated bookmakers\' prices', () => {
  const overround = (...prices: number[]) => prices.reduce((sum, price) => sum + 1 / price, 0);

  it('are plausible at every drift the simulator allows, for every bookmaker and scrape', () => {
    for (const seed of [...Object.keys(SIMULATED_BOOKMAKERS), 'williamhill', 'fanduel', 'draftkings']) {
      for (const priceDrift of [0, 0.05, 0.15]) {
        for (let scrape = 0; scrape < 6; scrape += 1) {
          for (const event of simulatedEvents({ page: 1, knobs: { ...SIMULATED_BOOKMAKERS.northwind!, eventsPerPage: 60, priceDrift }, scrape, seed, epoch: 0 })) {
            const { home, draw, away, over, under } = event.prices;
            expect(overround(home, draw, away)).toBeGreaterThan(1);
            expect(overround(home, draw, away)).toBeLessThan(1.25);
            expect(overround(over, under)).toBeGreaterThan(1);
            expect(overround(over, under)).toBeLessThan(1.25);
          }
        }
      }
    }
  });

  it('lie within a few percent of each other across bookmakers for one selection, and differ', () => {
    const aggregated = SIMULATED_ODDS_API_BOOKMAKERS.map(({ key }) => simulatedEvents({ page: 1, knobs: { ...SIMULATED_BOOKMAKERS.oddsline!, eventsPerPage: 30 }, scrape: 0, seed: key, epoch: 0 }));
    for (let n = 0; n < 30; n += 1) for (const selection of ['home', 'draw', 'away'] as const) expect(new Set(aggregated.map((events) => events[n]!.prices[selection])).size).toBeGreaterThan(1);
    const prices = ['northwind', 'luckyowl', 'redfox', 'bluepeak'].map((seed) => simulatedEvents({ page: 1, knobs: { ...SIMULATED_BOOKMAKERS.northwind!, eventsPerPage: 30 }, scrape: 0, seed, epoch: 0 }));
    for (let n = 0; n < 30; n += 1) {
      const homes = prices.map((events) => events[n]!.prices.home);
      expect(Math.max(...homes) / Math.min(...homes)).toBeLessThan(1.1);
    }
  });

  it('misread as fractional, are implausible (all but a market whose prices happen to add up)', () => {
    const events = simulatedEvents({ page: 1, knobs: { ...SIMULATED_BOOKMAKERS.northwind!, eventsPerPage: 60, fractionalMisread: true }, scrape: 0, seed: 'northwind', epoch: 0 });
    const plausible = events.filter(({ prices }) => overround(prices.home, prices.draw, prices.away) >= 1 && overround(prices.home, prices.draw, prices.away) <= 1.25);
    expect(plausible.length).toBeLessThan(events.length * 0.1);
  });
});
