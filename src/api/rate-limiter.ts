/**
 * Per-key request budget. In memory behind this interface so a Redis implementation can replace
 * it when several API nodes must share one budget.
 */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

export interface RateLimiter {
  hit(key: string, nowMs: number): RateLimitDecision;
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
    const start = Math.floor(nowMs / this.#windowMs) * this.#windowMs;
    let w = this.#windows.get(key);
    if (!w || w.start !== start) {
      // Stale windows of other keys are dropped lazily so the map stays bounded by active keys.
      if (this.#windows.size > 10_000)
        for (const [k, v] of this.#windows) if (v.start !== start) this.#windows.delete(k);
      w = { start, count: 0 };
      this.#windows.set(key, w);
    }
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
