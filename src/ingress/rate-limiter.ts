/**
 * Token buckets keyed by a string (a trigger, a source IP). A bucket starts full with
 * `perMinute` tokens and refills continuously, so exactly `perMinute` calls pass in a burst and
 * then one more every 60/perMinute seconds. Per process: see the README for several nodes.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  /** @param maxKeys buckets kept; the least recently created are dropped past it (memory bound). */
  constructor(private readonly maxKeys = 100_000) {}

  /**
   * Takes one token. Returns 0 when allowed, else the whole seconds until a token is back
   * (the Retry-After value, at least 1).
   */
  take(key: string, perMinute: number, now: number): number {
    const ratePerMs = perMinute / 60_000;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
      bucket = { tokens: perMinute, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
  }

  /** Gives back a token taken by `take` (a call that turned out not to be the sender's). */
  refund(key: string, perMinute: number): void {
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) bucket.tokens = Math.min(perMinute, bucket.tokens + 1);
  }
}
