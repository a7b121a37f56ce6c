import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.js';

describe('FailureLimiter', () => {
  it('refuses a key after `limit` failures until its window ends', () => {
    let now = 0;
    const limiter = new FailureLimiter({ limit: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('1.2.3.4')).toBe(0);
      limiter.fail('1.2.3.4');
      now += 1000;
    }
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(57_000);
    expect(limiter.retryAfterMs('5.6.7.8')).toBe(0);
    now = 60_000;
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(0);
    limiter.fail('1.2.3.4');
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(0);
  });

  it('keeps at most maxKeys keys', () => {
    let now = 0;
    const limiter = new FailureLimiter({ limit: 1, windowMs: 1000, maxKeys: 3, now: () => now });
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      limiter.fail(key);
      now += 1;
    }
    expect(limiter.size).toBe(3);
    // The newest keys are the ones kept.
    expect(limiter.retryAfterMs('e')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('a')).toBe(0);
  });
});
