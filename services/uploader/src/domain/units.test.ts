import { describe, expect, it } from 'vitest';
import { parseBytesPerSecond } from './units.js';

describe('parseBytesPerSecond', () => {
  it.each([
    ['50MB/s', 50_000_000],
    ['200M', 200_000_000],
    ['1.5GiB/s', 1.5 * 1024 ** 3],
    ['800k', 800_000],
    ['1048576', 1_048_576],
    [' 10 MiB / s ', 10 * 1024 ** 2],
  ])('%s', (text, bytes) => expect(parseBytesPerSecond(text)).toBe(bytes));
  it('refuses what it cannot read', () => {
    expect(() => parseBytesPerSecond('fast')).toThrow(/not a rate/);
    expect(() => parseBytesPerSecond('100Mbit/s')).toThrow(/not a rate/);
    expect(() => parseBytesPerSecond(0)).toThrow(/positive/);
  });
});
