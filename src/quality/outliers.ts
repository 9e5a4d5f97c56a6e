/**
 * Outliers against the consensus: a bookmaker's price for a selection more than QUALITY_OUTLIER_THRESHOLD
 * (default 25%) away from the median of at least OUTLIER_MIN_OTHERS other bookmakers' prices for the same
 * selection. Either a data error (swapped selections, a shifted column) or a real opportunity: the Odds
 * page marks it and the operator tells which.
 */

/** Fewer other bookmakers than this and there is no consensus to be away from. */
export const OUTLIER_MIN_OTHERS = 3;

export interface Consensus {
  /** The median of the other bookmakers' prices; null with fewer than OUTLIER_MIN_OTHERS of them. */
  consensus: number | null;
  outlier: boolean;
}

/** The consensus of each price of one selection, against every other price of it (one per bookmaker). */
export function consensusOf(prices: readonly number[], threshold: number): Consensus[] {
  return prices.map((price, index) => {
    if (prices.length - 1 < OUTLIER_MIN_OTHERS) return { consensus: null, outlier: false };
    const others = prices.filter((_, other) => other !== index).sort((a, b) => a - b);
    const middle = others.length >> 1;
    const consensus = others.length % 2 === 1 ? others[middle]! : (others[middle - 1]! + others[middle]!) / 2;
    return { consensus: Math.round(consensus * 10_000) / 10_000, outlier: Math.abs(price / consensus - 1) > threshold };
  });
}

/** A price and where it stands: its selection (rows of one selection adjacent), its platform, and whether the run being judged wrote it. */
export interface JudgedPrice {
  selection: string;
  platform: string;
  price: number;
  ofThisRun: boolean;
}

/** Outliers among the prices a run wrote, by platform, each judged against every other bookmaker's current price of its selection. */
export function outliersByPlatform(prices: readonly JudgedPrice[], threshold: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let start = 0; start < prices.length; ) {
    let end = start + 1;
    while (end < prices.length && prices[end]!.selection === prices[start]!.selection) end += 1;
    const group = prices.slice(start, end);
    const judged = consensusOf(group.map((entry) => entry.price), threshold);
    group.forEach((entry, index) => {
      if (entry.ofThisRun) counts.set(entry.platform, (counts.get(entry.platform) ?? 0) + (judged[index]!.outlier ? 1 : 0));
    });
    start = end;
  }
  return counts;
}
