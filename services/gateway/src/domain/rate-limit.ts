/**
 * Counts failures per key (a client address) in a fixed window and refuses a key once it
 * reaches the limit, until its window ends. Successes are not counted: a person who
 * signs in often is not an attacker, a client that keeps guessing is. Memory is bounded:
 * past `maxKeys` the windows that end soonest are forgotten first.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { failures: number; endsAt: number }>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: { limit: number; windowMs: number; maxKeys?: number; now?: () => number }) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until `key` may try again, or 0 when it may try now. */
  retryAfterMs(key: string): number {
    const w = this.windows.get(key);
    if (!w) return 0;
    const now = this.now();
    if (now >= w.endsAt) {
      this.windows.delete(key);
      return 0;
    }
    return w.failures >= this.limit ? w.endsAt - now : 0;
  }

  /** Records a failed attempt of `key`. */
  fail(key: string): void {
    const now = this.now();
    const w = this.windows.get(key);
    if (w && now < w.endsAt) {
      w.failures++;
      return;
    }
    this.windows.delete(key);
    if (this.windows.size >= this.maxKeys) this.prune(now);
    this.windows.set(key, { failures: 1, endsAt: now + this.windowMs });
  }

  /** How many keys are tracked (for tests). */
  get size(): number {
    return this.windows.size;
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (now >= w.endsAt) this.windows.delete(key);
    // Still full: Map keeps insertion order, so the first entries are the oldest windows.
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
