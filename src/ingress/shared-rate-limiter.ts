import type { Logger } from 'pino';
import type { RateLimits } from './rate-limiter.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * The token bucket of RateLimiter, kept in Redis so every node draws from the same bucket: a
 * limit of N per minute behind K nodes admits N, not K·N. One Lua script per call refills and
 * takes atomically, on Redis's own clock (nodes' clocks may differ). The key expires after two
 * idle minutes, when the bucket is full again anyway.
 */
const TAKE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = capacity / 60000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1])
local at = tonumber(bucket[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  if ARGV[2] == '1' then tokens = tokens - 1 end
else
  wait = math.max(1, math.ceil((1 - tokens) / rate / 1000))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return wait
`;

/** The slice of an ioredis client this limiter uses (`takeToken` is TAKE_SCRIPT, sent once and then run by its SHA). */
interface RedisClient {
  takeToken(key: string, perMinute: number, take: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export interface SharedRateLimiterOptions {
  redisUrl: string;
  logger: Logger;
  /** A Redis answer slower than this counts as a failure, ms (the webhook must not wait for it). */
  timeoutMs?: number;
}

/**
 * Rate limits shared across nodes through Redis. When Redis does not answer in time, or is down,
 * the node falls back to its own buckets (the per-node behaviour of RateLimiter) and logs a
 * warning at most once a minute: a Redis outage makes limits per node, it never refuses or delays
 * webhooks.
 */
export class SharedRateLimiter implements RateLimits {
  private readonly local = new RateLimiter();
  private lastWarning = 0;

  private constructor(
    private readonly client: RedisClient,
    private readonly logger: Logger,
  ) {}

  /** Connects lazily: ioredis is loaded only when REDIS_URL is set. */
  static async connect(options: SharedRateLimiterOptions): Promise<SharedRateLimiter> {
    const { Redis } = await import('ioredis');
    const timeoutMs = options.timeoutMs ?? 100;
    const client = new Redis(options.redisUrl, {
      // Fail fast instead of queueing while disconnected: the fallback answers meanwhile.
      enableOfflineQueue: false,
      commandTimeout: timeoutMs,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      // Calls made in one event-loop turn share one round trip (one write, one wake-up of Redis).
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    client.on('error', () => undefined); // reported through the fallback's warning, not once per retry
    client.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    return new SharedRateLimiter(client as unknown as RedisClient, options.logger);
  }

  take(key: string, perMinute: number, now: number): Promise<number> {
    return this.call(key, perMinute, now, true);
  }

  wait(key: string, perMinute: number, now: number): Promise<number> {
    return this.call(key, perMinute, now, false);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private async call(key: string, perMinute: number, now: number, take: boolean): Promise<number> {
    try {
      const wait = await this.client.takeToken(`hookflow:rate:${key}`, perMinute, take ? '1' : '0');
      return Number(wait);
    } catch (error) {
      if (now - this.lastWarning > 60_000) {
        this.lastWarning = now;
        this.logger.warn({ err: error }, 'Redis did not answer a rate-limit check in time: limits are per node until it does');
      }
      return take ? this.local.take(key, perMinute, now) : this.local.wait(key, perMinute, now);
    }
  }
}
