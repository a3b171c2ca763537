/**
 * Upper bounds (ms) of the response-time buckets the stored webhook stats count in. Roughly
 * 25 % apart, so a percentile read from them (the upper bound of the bucket holding it) is at
 * most ~25 % above the true value; the last bucket holds everything slower than 60 s.
 */
export const LATENCY_BUCKET_BOUNDS_MS: readonly number[] = [
  0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12.5, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300,
  400, 500, 600, 800, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10_000, 15_000, 20_000, 30_000, 60_000,
  Number.POSITIVE_INFINITY,
];

/** Index of the bucket a duration falls in (binary search: called once per webhook). */
export function latencyBucketOf(ms: number): number {
  let low = 0;
  let high = LATENCY_BUCKET_BOUNDS_MS.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (ms <= (LATENCY_BUCKET_BOUNDS_MS[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * The `p`th percentile (0–100) of counts per bucket, as the upper bound of the bucket holding
 * it (nearest rank); the open last bucket reports its lower bound. Null when there are no counts.
 */
export function percentileOfBuckets(counts: ReadonlyMap<number, number>, p: number): number | null {
  let total = 0;
  for (const count of counts.values()) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const bucket of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(bucket) as number;
    if (seen >= rank) {
      const bound = LATENCY_BUCKET_BOUNDS_MS[Math.min(bucket, LATENCY_BUCKET_BOUNDS_MS.length - 1)] as number;
      return Number.isFinite(bound) ? bound : (LATENCY_BUCKET_BOUNDS_MS.at(-2) as number);
    }
  }
  return null;
}
