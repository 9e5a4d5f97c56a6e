import type { ScrapedSelection } from '../platforms/adapter.js';

/** Rows a platform collects before it writes them (bounded memory; ~2,000 rows is past the per-statement overhead). */
export const ODDS_FLUSH_ROWS = 2_000;

/**
 * A platform's odds not yet written. Pages are collected and written in few, large statements (one per
 * ODDS_FLUSH_ROWS, and the rest with the step's final write) instead of one statement per feed page.
 */
export class OddsBuffer {
  private rows: ScrapedSelection[] = [];

  constructor(private readonly flushRows = ODDS_FLUSH_ROWS) {}

  /** Adds a page; true when the buffer is full and should be written now. */
  add(batch: ScrapedSelection[]): boolean {
    for (const row of batch) this.rows.push(row);
    return this.rows.length >= this.flushRows;
  }

  /** Empties the buffer, returning what it held. */
  take(): ScrapedSelection[] {
    const rows = this.rows;
    this.rows = [];
    return rows;
  }
}
