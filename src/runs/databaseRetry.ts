import { pgErrorCode } from '../db/pgErrors.js';

/** How long the runner keeps retrying one write through a database outage before it gives the run up. */
export const WRITE_RETRY_BUDGET_MS = 15_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True when the write certainly did not happen, so repeating it cannot apply it twice: the connection
 * was never made (ECONNREFUSED while the server is down, a pool acquire timeout), or the server answered
 * with a connection (08) or operator-intervention (57: shutdown, starting up) error, which rolls the
 * statement back. A connection cut without an answer ("Connection terminated") is NOT retried: the
 * statement may have committed.
 */
export function isUnappliedWrite(error: unknown): boolean {
  const code = pgErrorCode(error);
  if (code) return code.startsWith('08') || code.startsWith('57');
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const candidate = current as { code?: unknown; message?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof candidate.code === 'string' && NEVER_CONNECTED.has(candidate.code)) return true;
    if (typeof candidate.message === 'string' && /timeout acquiring a connection|ECONNREFUSED/i.test(candidate.message)) return true;
    // net.connect to a host with several addresses rejects with an AggregateError of ECONNREFUSEDs
    if (Array.isArray(candidate.errors) && candidate.errors.length > 0 && candidate.errors.every((inner) => isUnappliedWrite(inner))) return true;
    current = candidate.cause;
  }
  return false;
}

export interface RetryOptions {
  budgetMs?: number;
  /** Called before each wait (logging). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  /** Repeat on any error, not only an unapplied write (for compare-and-set writes, where a repeat is harmless). */
  anyError?: boolean;
}

/**
 * Runs `write`, repeating it with exponential backoff (100 ms .. 2 s) while it fails with an unapplied
 * write error (any error with `anyError`) and the budget lasts; any other error, or the budget spent, rejects with the last error.
 */
export async function retryWrite<T>(write: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? WRITE_RETRY_BUDGET_MS);
  for (let attempt = 1, delay = FIRST_DELAY_MS; ; attempt += 1, delay = Math.min(MAX_DELAY_MS, delay * 2)) {
    try {
      return await write();
    } catch (error) {
      const wait = Math.min(delay, deadline - Date.now());
      if (!(options.anyError || isUnappliedWrite(error)) || wait <= 0 || options.signal?.aborted) throw error;
      options.onRetry?.(error, attempt, wait);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
