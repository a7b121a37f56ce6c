import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, isRole, parseBearer, roleAllows } from './tokens.js';

describe('tokens', () => {
  it('generates fry_ tokens of 32 random bytes', () => {
    const a = generateToken();
    const b = generateToken();
    expect(a).toMatch(/^fry_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('hashes with SHA-256 hex', () => {
    expect(hashToken('fry_x')).toBe(createHash('sha256').update('fry_x').digest('hex'));
  });

  it('orders roles viewer < operator < admin', () => {
    expect(roleAllows('admin', 'viewer')).toBe(true);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'admin')).toBe(false);
    expect(isRole('admin')).toBe(true);
    expect(isRole('root')).toBe(false);
  });

  it('reads bearer credentials', () => {
    expect(parseBearer('Bearer fry_abc-_')).toEqual({ ok: true, token: 'fry_abc-_' });
    expect(parseBearer('bearer   fry_abc ')).toEqual({ ok: true, token: 'fry_abc' });
    expect(parseBearer(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(parseBearer('  ')).toEqual({ ok: false, reason: 'missing' });
    for (const bad of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'fry_abc', 'Bearer fry_ä', `Bearer ${'a'.repeat(600)}`]) {
      expect(parseBearer(bad), bad).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
