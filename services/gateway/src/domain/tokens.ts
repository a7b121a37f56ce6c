import { createHash, randomBytes } from 'node:crypto';

/** Roles in increasing power; each role may do everything the ones before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Marks Ferry tokens so secret scanners and people can recognise a leaked one. */
export const TOKEN_PREFIX = 'fry_';

/** True when `value` is one of {@link ROLES}. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when a token with role `has` may use a route that needs `needs`. */
export function roleAllows(has: Role, needs: Role): boolean {
  return ROLES.indexOf(has) >= ROLES.indexOf(needs);
}

/** A new secret token: the prefix and 32 random bytes in base64url (256 bits). */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * The SHA-256 of a token in hex: the only form stored. A fast hash is enough because
 * the token is 256 random bits, not a password a dictionary could guess.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What an `Authorization` header holds, or why it cannot be used. */
export type BearerCredential = { ok: true; token: string } | { ok: false; reason: 'missing' | 'malformed' };

// RFC 6750 b64token; also keeps control characters and whitespace out of lookups.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Reads a bearer token from an `Authorization` header value (the scheme is case-insensitive). */
export function parseBearer(header: string | undefined): BearerCredential {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const match = /^Bearer +(\S+)\s*$/i.exec(header.trim());
  if (!match?.[1] || !B64TOKEN.test(match[1]) || match[1].length > 512) return { ok: false, reason: 'malformed' };
  return { ok: true, token: match[1] };
}
