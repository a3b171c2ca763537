import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('lets exactly N through in a burst, then asks to wait for the next token', () => {
    const limiter = new RateLimiter();
    const now = 1_000_000;
    const answers = Array.from({ length: 11 }, () => limiter.take('t', 10, now));
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(answers[10]).toBe(6); // one token per 6 s at 10/min
  });

  it('refills over time and keeps keys apart', () => {
    const limiter = new RateLimiter();
    for (let i = 0; i < 60; i++) limiter.take('a', 60, 0);
    expect(limiter.take('a', 60, 0)).toBe(1);
    expect(limiter.take('b', 60, 0)).toBe(0);
    expect(limiter.take('a', 60, 1000)).toBe(0);
    expect(limiter.take('a', 60, 1000)).toBeGreaterThan(0);
  });

  it('stays bounded in keys', () => {
    const limiter = new RateLimiter(2);
    limiter.take('a', 1, 0);
    limiter.take('b', 1, 0);
    limiter.take('c', 1, 0);
    // 'a' was dropped, so it starts with a full bucket again.
    expect(limiter.take('a', 1, 0)).toBe(0);
  });

  it('can tell the wait without taking a token', () => {
    const limiter = new RateLimiter();
    expect(limiter.wait('t', 1, 0)).toBe(0);
    expect(limiter.wait('t', 1, 0)).toBe(0);
    expect(limiter.take('t', 1, 0)).toBe(0);
    expect(limiter.wait('t', 1, 0)).toBe(60);
  });

  it('is not drained when the wall clock steps back', () => {
    const limiter = new RateLimiter();
    expect(limiter.take('t', 6, 600_000)).toBe(0);
    // Ten minutes back: nothing refills, but the five tokens left are still there.
    for (let i = 0; i < 5; i++) expect(limiter.take('t', 6, 0)).toBe(0);
    expect(limiter.take('t', 6, 0)).toBe(10);
  });
});
