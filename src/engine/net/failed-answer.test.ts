import { describe, expect, it } from 'vitest';
import { failedAnswer, parseRetryAfter } from './failed-answer.js';

const NOW = Date.UTC(2026, 10, 28, 22, 0, 0);

describe('parseRetryAfter', () => {
  it('reads both forms HTTP allows: seconds and an HTTP-date', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('Sat, 28 Nov 2026 22:02:00 GMT', NOW)).toBe(120);
    expect(parseRetryAfter('Sat, 28 Nov 2026 22:00:00 GMT', NOW)).toBe(0);
    // A date already past means "now", never a negative wait.
    expect(parseRetryAfter('Sat, 28 Nov 2026 21:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores what it cannot read, so the usual backoff applies', () => {
    for (const value of [undefined, '', '  ', '-5', '1.5', 'soon', 'NaN']) expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('failedAnswer', () => {
  it('retries 429/5xx honouring Retry-After, fails other 4xx at once without it', () => {
    const limited = failedAnswer({ message: 'm', status: 429, headers: { 'retry-after': 'Sat, 28 Nov 2026 22:00:30 GMT' }, now: NOW });
    expect([limited.transient, limited.retryAfterSeconds]).toEqual([true, 30]);
    const unavailable = failedAnswer({ message: 'm', status: 503, headers: {}, now: NOW });
    expect([unavailable.transient, unavailable.retryAfterSeconds]).toEqual([true, undefined]);
    const refused = failedAnswer({ message: 'm', status: 404, headers: { 'retry-after': '10' }, now: NOW });
    expect([refused.transient, refused.retryAfterSeconds]).toEqual([false, undefined]);
  });
});
