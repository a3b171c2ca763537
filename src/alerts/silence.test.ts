import { describe, expect, it } from 'vitest';
import { expectedSilenceMs, SILENCE_GAP_FACTOR } from './silence.js';

const everySecond = (n: number, last: number) => Array.from({ length: n }, (_, i) => last - i * 1000);

describe('expectedSilenceMs', () => {
  it('has no expectation for a workflow with fewer events than minEvents (never fires)', () => {
    expect(expectedSilenceMs([], { minEvents: 10, minSilenceMinutes: 5 })).toBeNull();
    expect(expectedSilenceMs(everySecond(9, 1e9), { minEvents: 10, minSilenceMinutes: 5, silenceMinutes: 1 })).toBeNull();
  });

  it('uses the configured silence when there is one', () => {
    expect(expectedSilenceMs(everySecond(10, 1e9), { minEvents: 10, minSilenceMinutes: 5, silenceMinutes: 2 })).toBe(120_000);
  });

  it('learns a multiple of the longest gap, never below the floor', () => {
    expect(expectedSilenceMs(everySecond(20, 1e9), { minEvents: 10, minSilenceMinutes: 5 })).toBe(300_000);
    const hourly = Array.from({ length: 12 }, (_, i) => 1e9 - i * 3_600_000);
    hourly[5] = (hourly[5] as number) + 1_800_000; // one gap of 1.5 h, one of 0.5 h
    expect(expectedSilenceMs(hourly, { minEvents: 10, minSilenceMinutes: 5 })).toBe(SILENCE_GAP_FACTOR * 5_400_000);
  });
});
