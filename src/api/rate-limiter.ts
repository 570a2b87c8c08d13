/**
 * Per-key request budget: in memory for one node, in Redis (adapters/redis-rate-limiter.ts) when
 * several API nodes share one budget.
 */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

export interface RateLimiter {
  hit(key: string, nowMs: number): RateLimitDecision | Promise<RateLimitDecision>;
}

/**
 * Fixed window: cheap, exact, and its reset time is what the RateLimit-Reset header reports. The
 * burst of up to 2× at a window edge is acceptable for protecting a job API.
 */
export class FixedWindowRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #limit: number;
  readonly #windowMs: number;

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  hit(key: string, nowMs: number): RateLimitDecision {
    // Each key's window opens at its first request rather than on the clock's minute, so keys do
    // not all reset at once and a burst cannot straddle an edge the caller did not see coming.
    let w = this.#windows.get(key);
    if (!w || nowMs >= w.start + this.#windowMs) {
      // Expired windows of other keys are dropped lazily so the map stays bounded by active keys.
      if (this.#windows.size > 10_000)
        for (const [k, v] of this.#windows) if (nowMs >= v.start + this.#windowMs) this.#windows.delete(k);
      w = { start: nowMs, count: 0 };
      this.#windows.set(key, w);
    }
    const start = w.start;
    const allowed = w.count < this.#limit;
    if (allowed) w.count++;
    return {
      allowed,
      limit: this.#limit,
      remaining: Math.max(0, this.#limit - w.count),
      resetSeconds: Math.max(1, Math.ceil((start + this.#windowMs - nowMs) / 1000)),
    };
  }
}
