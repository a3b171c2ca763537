/** Retry timing of failed run attempts. */
export interface BackoffOptions {
  /** Delay after the first failed attempt, ms. Default 1000. */
  baseMs?: number;
  /** Longest delay, ms. Default 300000 (5 minutes). */
  maxMs?: number;
}

/**
 * Exponential backoff with jitter: base·2^(attempt-1), capped, then a random 50–100% of it,
 * so runs that failed together (an API outage) don't all retry in the same instant.
 */
export function retryDelayMs(failedAttempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 1000;
  const ceiling = Math.min(options.maxMs ?? 300_000, base * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
