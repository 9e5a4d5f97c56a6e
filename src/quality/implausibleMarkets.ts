import type { NewOdds } from '../db/tables/odds.js';
import type { ImplausibleMarketExample, ImplausibleMarketReason } from '../shared/contract.js';

/**
 * The implausible-markets check: a bookmaker's complete market (home/draw/away of a match result, over and
 * under at one line) whose overround, the sum of 1/price over its outcomes, is below 1 (a sure profit for
 * the punter: no bookmaker prices so) or above the bound (more margin than any bookmaker takes), or a
 * market with a price outside [MIN_PLAUSIBLE_PRICE, MAX_PLAUSIBLE_PRICE]. These are what a shifted column,
 * swapped prices or a misread fractional price look like once stored. Markets read in part are not judged.
 */

export const MIN_PLAUSIBLE_PRICE = 1.01;
export const MAX_PLAUSIBLE_PRICE = 1_000;
/** Examples a step keeps for the operator, at most. */
export const MAX_EXAMPLES = 5;

const MATCH_RESULT = ['home', 'draw', 'away'] as const;
const TOTAL = /^(over|under) (\S+)$/;

export interface MarketCheck {
  /** Complete markets judged. */
  checked: number;
  /** Implausible markets by reason. */
  implausible: Map<ImplausibleMarketReason, number>;
  /** The first MAX_EXAMPLES of them. */
  examples: ImplausibleMarketExample[];
}

export function emptyMarketCheck(): MarketCheck {
  return { checked: 0, implausible: new Map(), examples: [] };
}

/** Judges the complete markets of a batch of canonical odds, adding to `into`. */
export function checkMarkets(odds: readonly NewOdds[], maxOverround: number, into: MarketCheck = emptyMarketCheck()): MarketCheck {
  const markets = new Map<string, { row: NewOdds; line: string | undefined; prices: Map<string, number> }>();
  for (const row of odds) {
    let line: string | undefined;
    let outcome = row.selection;
    if (row.market === 'totals') {
      const total = TOTAL.exec(row.selection);
      if (!total) continue;
      outcome = total[1]!;
      line = total[2]!;
    } else if (row.market !== 'match_result') continue;
    const key = `${row.eventKey}\u0000${row.bookmaker}\u0000${row.market}\u0000${line ?? ''}`;
    let market = markets.get(key);
    if (!market) markets.set(key, (market = { row, line, prices: new Map() }));
    market.prices.set(outcome, row.price);
  }
  for (const { row, line, prices } of markets.values()) {
    const outcomes = row.market === 'totals' ? ['over', 'under'] : MATCH_RESULT;
    if (!outcomes.every((outcome) => prices.has(outcome))) continue;
    into.checked += 1;
    const values = outcomes.map((outcome) => prices.get(outcome)!);
    const overround = values.reduce((sum, price) => sum + 1 / price, 0);
    const reason: ImplausibleMarketReason | undefined = values.some((price) => price < MIN_PLAUSIBLE_PRICE || price > MAX_PLAUSIBLE_PRICE)
      ? 'price_out_of_range'
      : overround < 1
        ? 'overround_below_one'
        : overround > maxOverround
          ? 'overround_above_bound'
          : undefined;
    if (!reason) continue;
    into.implausible.set(reason, (into.implausible.get(reason) ?? 0) + 1);
    if (into.examples.length < MAX_EXAMPLES) {
      into.examples.push({
        reason,
        eventName: row.eventName,
        bookmaker: row.bookmaker,
        market: line === undefined ? row.market : `${row.market} ${line}`,
        prices: Object.fromEntries(outcomes.map((outcome) => [outcome, prices.get(outcome)!])),
        overround: Math.round(overround * 10_000) / 10_000,
      });
    }
  }
  return into;
}

/** How many implausible markets, all reasons. */
export const implausibleTotal = (check: MarketCheck) => [...check.implausible.values()].reduce((sum, count) => sum + count, 0);
