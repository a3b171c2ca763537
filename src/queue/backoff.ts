const DEFAULT_BASE_MS = 1000;
const DEFAULT_MAX_MS = 300_000;

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
  const base = options.baseMs ?? DEFAULT_BASE_MS;
  const ceiling = Math.min(options.maxMs ?? DEFAULT_MAX_MS, base * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

/**
 * The wait before retrying a failed attempt: the backoff, or longer when the failing server
 * asked for it (`Retry-After`), but never past the longest delay, so a server that answers
 * `Retry-After: 999999999` cannot park a run for decades.
 */
export function retryDelayAfterFailureMs(failedAttempt: number, retryAfterMs: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  return Math.min(Math.max(retryAfterMs, retryDelayMs(failedAttempt, options, random)), options.maxMs ?? DEFAULT_MAX_MS);
}
