import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('file cursors', () => {
  it('round-trips a sort key, microseconds included', () => {
    const cursor = { detectedAt: '2025-03-04T05:06:07.123456Z', id: 'abc123' };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  it('accepts times without fractional seconds', () => {
    expect(decodeCursor(encodeCursor({ detectedAt: '2025-03-04T05:06:07Z', id: 'x' }))).toEqual({ detectedAt: '2025-03-04T05:06:07Z', id: 'x' });
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['an object', Buffer.from('{"a":1}').toString('base64url')],
    ['three elements', Buffer.from('["2025-01-01T00:00:00Z","a","b"]').toString('base64url')],
    ['a number id', Buffer.from('["2025-01-01T00:00:00Z",5]').toString('base64url')],
    ['an empty id', Buffer.from('["2025-01-01T00:00:00Z",""]').toString('base64url')],
    ['a local time', Buffer.from('["2025-01-01T00:00:00","a"]').toString('base64url')],
    ['an impossible date', Buffer.from('["2025-13-45T00:00:00Z","a"]').toString('base64url')],
    ['a SQL fragment', Buffer.from(`["2025-01-01T00:00:00Z'; drop table files; --","a"]`).toString('base64url')],
  ])('rejects %s', (_what, text) => {
    expect(decodeCursor(text)).toBeUndefined();
  });
});
