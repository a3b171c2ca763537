import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it('matches Date#toISOString across milliseconds, second and year boundaries', () => {
    const samples = [0, 5, 99, 999, 1000, 1_700_000_000_123, 1_700_000_000_005, 1_700_000_000_999, 1_700_000_001_000, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), -1, -1001];
    for (const ms of samples) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
    // Fractional milliseconds are never passed (Date.now), but sequences within one second reuse the cache.
    for (let ms = 1_800_000_000_000; ms < 1_800_000_002_500; ms += 7) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
