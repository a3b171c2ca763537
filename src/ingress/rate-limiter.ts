/** Where the ingress takes rate-limit tokens: per node (RateLimiter) or shared by every node (SharedRateLimiter). */
export interface RateLimits {
  /** Takes one token: 0 when allowed, else the whole seconds until a token is back (at least 1). */
  take(key: string, perMinute: number, now: number): number | Promise<number>;
  /** What `take` would answer, without taking. */
  wait(key: string, perMinute: number, now: number): number | Promise<number>;
}

/**
 * Token buckets keyed by a string (a trigger, a source IP). A bucket starts full with
 * `perMinute` tokens and refills continuously, so exactly `perMinute` calls pass in a burst and
 * then one more every 60/perMinute seconds. Per process: see the README for several nodes.
 */
export class RateLimiter implements RateLimits {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  /** @param maxKeys buckets kept; the least recently created are dropped past it (memory bound). */
  constructor(private readonly maxKeys = 100_000) {}

  /**
   * Takes one token. Returns 0 when allowed, else the whole seconds until a token is back
   * (the Retry-After value, at least 1).
   */
  take(key: string, perMinute: number, now: number): number {
    const bucket = this.refilled(key, perMinute, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return secondsUntilToken(bucket.tokens, perMinute);
  }

  /** What `take` would answer, without taking: for refusing early a call that is not yet authenticated. */
  wait(key: string, perMinute: number, now: number): number {
    const bucket = this.refilled(key, perMinute, now);
    return bucket.tokens >= 1 ? 0 : secondsUntilToken(bucket.tokens, perMinute);
  }

  private refilled(key: string, perMinute: number, now: number): { tokens: number; updatedAt: number } {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
      bucket = { tokens: perMinute, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      // A wall clock stepped back (NTP, a restored VM) refills nothing, but must not drain the bucket.
      bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, now - bucket.updatedAt) * (perMinute / 60_000));
      bucket.updatedAt = now;
    }
    return bucket;
  }

}

function secondsUntilToken(tokens: number, perMinute: number): number {
  return Math.max(1, Math.ceil((1 - tokens) / (perMinute / 60_000) / 1000));
}
