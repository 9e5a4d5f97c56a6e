/** Reconnect policy of the live stream, as pure functions so it can be unit tested. */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of spread around the nominal delay (0.2 = ±20 %), clamped into [initialMs, maxMs]. */
  jitter: number;
  /** A connection that stays up this long resets the retry counter. */
  stableAfterMs: number;
}

/** There is no retry limit: a wall screen left alone must come back by itself, however long the outage. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
  stableAfterMs: 30_000,
};

/** Nominal delay before retry number `attempt` (0-based): 1 s, 2 s, 4 s, 8 s, 16 s, 30 s, 30 s, ... for ever. */
export function nominalDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
}

/** Delay before retry `attempt`, with jitter from `random()` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number = Math.random, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const nominal = nominalDelay(attempt, policy);
  const spread = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.round(Math.min(policy.maxMs, Math.max(policy.initialMs, nominal * spread)));
}
