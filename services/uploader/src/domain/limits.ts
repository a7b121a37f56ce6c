/** Time source of the limits, replaced by a fake one in tests. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** At most `limit` holders at once; waiters are served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * A token bucket in bytes: `take(n)` waits until the average rate stays at or below
 * `bytesPerSecond`, allowing bursts of `burstBytes`. A request larger than the burst
 * (one multipart part) is let through once the bucket is full and leaves it in debt,
 * so the long-run rate still holds.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly bytesPerSecond: number,
    readonly burstBytes: number = bytesPerSecond,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be positive, got ${bytesPerSecond}`);
    this.tokens = burstBytes;
    this.last = clock.now();
  }

  /** Waits for `bytes` of budget; callers are served in order. */
  take(bytes: number): Promise<void> {
    const turn = this.tail.then(() => this.wait(bytes));
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** The delay `take(bytes)` would wait now, without taking anything. */
  delayFor(bytes: number): number {
    this.refill();
    const needed = Math.min(bytes, this.burstBytes);
    return this.tokens >= needed ? 0 : Math.ceil(((needed - this.tokens) / this.bytesPerSecond) * 1000);
  }

  private async wait(bytes: number): Promise<void> {
    for (;;) {
      const delay = this.delayFor(bytes);
      if (delay === 0) break;
      await this.clock.sleep(delay);
    }
    this.tokens -= bytes;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }
}
