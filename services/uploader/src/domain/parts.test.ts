import { describe, expect, it } from 'vitest';
import { mayTakeOver, partSizeFor, reusableParts, type RecordedPart } from './parts.js';

const MiB = 1024 * 1024;

describe('partSizeFor', () => {
  it('keeps the configured size while 10,000 parts suffice', () => {
    expect(partSizeFor(10 * 1024 * MiB, 16 * MiB)).toBe(16 * MiB);
  });
  it('grows parts in whole MiB for files above 10,000 parts', () => {
    const size = 200 * 1024 ** 3; // 200 GiB
    const part = partSizeFor(size, 16 * MiB);
    expect(part % MiB).toBe(0);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
  });
});

describe('reusableParts', () => {
  const recorded: RecordedPart[] = [
    { n: 1, etag: '"e1"', size: 5, sha256: 'h1' },
    { n: 2, etag: '"e2"', size: 5, sha256: 'h2' },
    { n: 3, etag: '"e3"', size: 5, sha256: 'h3' },
  ];
  it('trusts the record when the store cannot list parts', () => {
    expect([...reusableParts(recorded, undefined).keys()]).toEqual([1, 2, 3]);
  });
  it('keeps only parts the store has with the same ETag and size', () => {
    const listed = [
      { n: 1, etag: 'e1', size: 5 },
      { n: 2, etag: '"other"', size: 5 },
      { n: 3, etag: '"e3"', size: 4 },
    ];
    expect([...reusableParts(recorded, listed).keys()]).toEqual([1]);
  });
});

describe('mayTakeOver', () => {
  const t = Date.parse('2026-01-01T00:00:00Z');
  it('lets the owner continue at once and others only after the lease ran out', () => {
    const state = { owner: 'a', updatedAt: new Date(t).toISOString() };
    expect(mayTakeOver(state, 'a', t + 1, 60_000)).toBe(true);
    expect(mayTakeOver(state, 'b', t + 59_000, 60_000)).toBe(false);
    expect(mayTakeOver(state, 'b', t + 61_000, 60_000)).toBe(true);
  });
});
