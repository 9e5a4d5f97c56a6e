/**
 * Coverage: the share of the matched sporting events (listed by two platforms or more, upcoming) a bookmaker
 * priced in a step, against its usual: the median of its coverage on its platform's previous
 * QUALITY_COVERAGE_WINDOW (10) completed steps. Below QUALITY_COVERAGE_FRACTION (0.8) of the usual is a
 * coverage drop: a bookmaker that stopped covering a league while the others still do. The same shape as the
 * volume-drop check (which counts sporting events, whoever else lists them); fewer than
 * MIN_PREVIOUS_COVERAGE previous steps and nothing is judged.
 */

export const MIN_PREVIOUS_COVERAGE = 3;

export interface CoverageVerdict {
  bookmaker: string;
  share: number;
  /** The median of its previous shares; null when not judged. */
  usual: number | null;
  dropped: boolean;
}

export function judgeCoverage(current: ReadonlyMap<string, number>, previous: readonly Record<string, number>[], fraction: number): CoverageVerdict[] {
  return [...current].map(([bookmaker, share]) => {
    const before = previous.map((coverage) => coverage[bookmaker]).filter((value): value is number => typeof value === 'number').sort((a, b) => a - b);
    if (before.length < MIN_PREVIOUS_COVERAGE) return { bookmaker, share, usual: null, dropped: false };
    const middle = before.length >> 1;
    const usual = before.length % 2 === 1 ? before[middle]! : (before[middle - 1]! + before[middle]!) / 2;
    return { bookmaker, share, usual, dropped: share < usual * fraction };
  });
}
