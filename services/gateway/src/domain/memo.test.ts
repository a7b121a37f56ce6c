import { describe, expect, it } from 'vitest';
import { Memo } from './memo.js';

describe('Memo', () => {
  it('shares one computation per key until it is old, and forgets failures', async () => {
    let now = 0;
    let calls = 0;
    const memo = new Memo<number>(1000, () => now);
    const compute = () => Promise.resolve(++calls);
    expect(await Promise.all([memo.get('a', compute), memo.get('a', compute)])).toEqual([1, 1]);
    expect(await memo.get('b', compute)).toBe(2);
    now = 999;
    expect(await memo.get('a', compute)).toBe(1);
    now = 1000;
    expect(await memo.get('a', compute)).toBe(3);
    await expect(memo.get('c', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await memo.get('c', compute)).toBe(4);
  });

  it('computes every time with a ttl of 0', async () => {
    let calls = 0;
    const memo = new Memo<number>(0);
    await memo.get('a', () => Promise.resolve(++calls));
    await memo.get('a', () => Promise.resolve(++calls));
    expect(calls).toBe(2);
  });
});
