import { describe, expect, it } from 'vitest';
import { retryDelayAfterFailureMs, retryDelayMs } from './backoff.js';

const options = { baseMs: 1000, maxMs: 60_000 };
const highest = () => 0.999_999;

describe('retry delays', () => {
  it('double per attempt up to the longest delay, with jitter of 50-100 %', () => {
    expect([1, 2, 3, 10].map((attempt) => retryDelayMs(attempt, options, highest))).toEqual([1000, 2000, 4000, 60_000]);
    expect(retryDelayMs(1, options, () => 0)).toBe(500);
  });

  it('wait as long as Retry-After asks, but never past the longest delay', () => {
    expect(retryDelayAfterFailureMs(1, 30_000, options, highest)).toBe(30_000);
    expect(retryDelayAfterFailureMs(1, 0, options, highest)).toBe(1000);
    expect(retryDelayAfterFailureMs(1, 999_999_999_000, options, highest)).toBe(60_000);
  });
});
