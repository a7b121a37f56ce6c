import { describe, expect, it } from 'vitest';
import { Semaphore, TokenBucket, type Clock } from './limits.js';

/** A clock that only moves when a sleeper asks it to. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('TokenBucket', () => {
  it('lets a burst through, then holds the average rate', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1000, 1000, clock);
    await bucket.take(1000);
    expect(clock.now()).toBe(0);
    await bucket.take(500);
    expect(clock.now()).toBe(500);
    await bucket.take(2000); // larger than the burst: waits for a full bucket, then goes into debt
    await bucket.take(1);
    expect(clock.now()).toBeGreaterThanOrEqual(2500);
    expect(clock.now()).toBeLessThanOrEqual(2502);
  });

  it('serves callers in order and sends 10 MB at 1 MB/s in about 10 s', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1_000_000, 1_000_000, clock);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => bucket.take(1_000_000).then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(clock.now()).toBeGreaterThanOrEqual(9000);
    expect(clock.now()).toBeLessThanOrEqual(9010);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenBucket(0)).toThrow(/positive/);
  });
});

describe('Semaphore', () => {
  it('never lets more than the limit in, and serves waiters first come first served', async () => {
    const slots = new Semaphore(2);
    let inside = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const jobs = Array.from({ length: 5 }, (_, i) =>
      slots.run(async () => {
        inside++;
        peak = Math.max(peak, inside);
        order.push(i);
        await new Promise<void>((resolve) => gates.push(resolve));
        inside--;
      }),
    );
    for (let opened = 0; opened < 5; opened++) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    await Promise.all(jobs);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(slots.inUse).toBe(0);
  });

  it('releases a slot once even when release is called twice', async () => {
    const slots = new Semaphore(1);
    const release = await slots.acquire();
    release();
    release();
    expect(slots.inUse).toBe(0);
    const again = await slots.acquire();
    expect(slots.inUse).toBe(1);
    again();
  });
});
