import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKET_BOUNDS_MS, latencyBucketOf, percentileOfBuckets } from './latency-buckets.js';

describe('latency buckets', () => {
  it('puts a duration in the first bucket whose upper bound holds it', () => {
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(0.25)).toBe(0);
    expect(latencyBucketOf(0.26)).toBe(1);
    expect(LATENCY_BUCKET_BOUNDS_MS[latencyBucketOf(7)]).toBe(8);
    expect(LATENCY_BUCKET_BOUNDS_MS[latencyBucketOf(1000)]).toBe(1000);
    expect(latencyBucketOf(10 * 60_000)).toBe(LATENCY_BUCKET_BOUNDS_MS.length - 1);
  });

  it('reads percentiles by nearest rank as the bucket upper bound', () => {
    // 90 calls at ~1 ms, 9 at ~40 ms, 1 at ~900 ms.
    const counts = new Map([[latencyBucketOf(0.9), 90], [latencyBucketOf(35), 9], [latencyBucketOf(900), 1]]);
    expect(percentileOfBuckets(counts, 50)).toBe(1);
    expect(percentileOfBuckets(counts, 95)).toBe(40);
    expect(percentileOfBuckets(counts, 99)).toBe(40);
    expect(percentileOfBuckets(counts, 100)).toBe(1000);
    expect(percentileOfBuckets(new Map(), 50)).toBeNull();
  });
});
