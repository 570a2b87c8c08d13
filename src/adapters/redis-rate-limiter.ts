import { Redis } from 'ioredis';
import type { RateLimitDecision, RateLimiter } from '../api/rate-limiter.ts';

// One counter per key whose window opens at the key's first request (as in the in-memory
// limiter): the first INCR sets the expiry, and the remaining lifetime is the reset time.
const window = `local c = redis.call('incr', KEYS[1])
if c == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return {c, redis.call('pttl', KEYS[1])}`;

/**
 * The per-key request budget shared by every API node through Redis. The script runs atomically,
 * so N nodes together allow exactly `limit` requests per window.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #prefix: string;

  constructor(opts: { redisUrl: string; prefix: string; limit: number; windowMs: number }) {
    // A request must not hang on a dead Redis: fail fast, the caller answers 500 and retries work.
    this.#redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    this.#redis.on('error', () => {});
    this.#limit = opts.limit;
    this.#windowMs = opts.windowMs;
    this.#prefix = opts.prefix;
  }

  async hit(key: string, nowMs: number): Promise<RateLimitDecision> {
    void nowMs; // Redis's clock decides, so nodes with skewed clocks still share one window.
    const r = (await this.#redis.eval(window, 1, `${this.#prefix}:ratelimit:${key}`, this.#windowMs)) as [
      number,
      number,
    ];
    const [count, ttl] = r;
    return {
      allowed: count <= this.#limit,
      limit: this.#limit,
      remaining: Math.max(0, this.#limit - count),
      resetSeconds: Math.max(1, Math.ceil(ttl / 1000)),
    };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
