import type { Request, RequestHandler, Response } from 'express';
import type { SessionStore } from '../adapters/session-store.js';
import type { Principal, TokenStore } from '../adapters/token-store.js';
import { readCookie, SESSION_COOKIE, sessionCookie } from '../domain/cookies.js';
import { parseBearer, roleAllows, type Role } from '../domain/tokens.js';
import { sendError } from './errors.js';

// Kept beside the request rather than on res.locals, which is untyped.
const principals = new WeakMap<Request, Principal>();
const credentials = new WeakMap<Request, Credential>();

/** How a request proved who it is. */
export type Credential = { kind: 'bearer' } | { kind: 'session'; secret: string; expiresAt: Date };

/** The principal that authentication found for this request. */
export function principalOf(req: Request): Principal | undefined {
  return principals.get(req);
}

/** How this request authenticated, when it did. */
export function credentialOf(req: Request): Credential | undefined {
  return credentials.get(req);
}

/** Where credentials are checked: tokens always, sessions when the web page is served. */
export interface Authenticator {
  tokens: TokenStore;
  sessions?: SessionStore | undefined;
  /** Whether cookies are marked Secure regardless of the request's scheme. */
  secureCookies?: boolean | undefined;
}

type Why = 'missing' | 'malformed' | 'unknown' | 'session-unknown' | 'session-expired' | 'session-revoked';

const MESSAGES: Record<Why, string> = {
  missing: 'missing Authorization header or session cookie; send "Authorization: Bearer <token>" or sign in with POST /api/v1/session',
  malformed: 'malformed Authorization header; expected "Bearer <token>"',
  unknown: 'unknown or revoked token',
  'session-unknown': 'unknown or ended session; sign in again',
  'session-expired': 'session expired; sign in again',
  'session-revoked': 'the token this session was signed in with has been revoked; sign in with another token',
};

// RFC 6750 section 3: no error code when no credentials were sent at all.
const CHALLENGES: Record<Why, string> = {
  missing: 'Bearer realm="ferry"',
  malformed: 'Bearer realm="ferry", error="invalid_request"',
  unknown: 'Bearer realm="ferry", error="invalid_token"',
  'session-unknown': 'Bearer realm="ferry"',
  'session-expired': 'Bearer realm="ferry"',
  'session-revoked': 'Bearer realm="ferry"',
};

function unauthorized(req: Request, res: Response, why: Why, auth: Authenticator | undefined): void {
  res.setHeader('WWW-Authenticate', CHALLENGES[why]);
  // A cookie that no longer works is removed, so the browser stops sending it.
  if (why.startsWith('session-')) res.append('Set-Cookie', sessionCookie('', { maxAgeSeconds: 0, secure: secureRequest(req, auth) }));
  sendError(res, 401, { error: 'unauthorized', message: MESSAGES[why] });
}

/** True when cookies for this request must be Secure: https, or configured so. */
export function secureRequest(req: Request, auth: Authenticator | undefined): boolean {
  return req.secure || auth?.secureCookies === true;
}

/**
 * Finds who sent the request: a bearer token when there is an Authorization header
 * (it wins over a cookie), else the session cookie. Neither secret is logged or echoed.
 */
async function authenticate(req: Request, auth: Authenticator): Promise<Principal | Why> {
  const known = principals.get(req);
  if (known) return known;
  const header = req.get('authorization');
  const cookie = auth.sessions ? readCookie(req.get('cookie'), SESSION_COOKIE) : undefined;
  if (header === undefined && cookie !== undefined && cookie !== '' && auth.sessions) {
    const session = await auth.sessions.lookup(cookie);
    if (typeof session === 'string') return `session-${session}`;
    principals.set(req, session.principal);
    credentials.set(req, { kind: 'session', secret: cookie, expiresAt: session.expiresAt });
    return session.principal;
  }
  const credential = parseBearer(header);
  if (!credential.ok) return credential.reason;
  const principal = await auth.tokens.authenticate(credential.token);
  if (!principal) return 'unknown';
  principals.set(req, principal);
  credentials.set(req, { kind: 'bearer' });
  return principal;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The CSRF guard for cookie-authenticated requests that change something: a browser
 * sends a cross-site form or a "simple" fetch with the user's cookie, but it cannot set
 * `Content-Type: application/json` or a custom header on one without a CORS preflight,
 * which this server never grants. SameSite=Strict already withholds the cookie from
 * cross-site requests; this covers older browsers and same-site subdomains.
 */
export function passesCsrfGuard(req: Request): boolean {
  if (SAFE_METHODS.has(req.method)) return true;
  const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || req.get('x-ferry-request') === '1';
}

/** Refuses requests without a live token or session, or (when given) below `role`. */
export function requireAuth(auth: Authenticator, role?: Role): RequestHandler {
  return async (req, res, next) => {
    const found = await authenticate(req, auth);
    if (typeof found === 'string') {
      unauthorized(req, res, found, auth);
      return;
    }
    if (credentials.get(req)?.kind === 'session' && !passesCsrfGuard(req)) {
      sendError(res, 403, {
        error: 'forbidden',
        message: `a ${req.method} signed in by session cookie needs "Content-Type: application/json" or the header "X-Ferry-Request: 1" (protection against cross-site requests)`,
      });
      return;
    }
    if (role !== undefined && !roleAllows(found.role, role)) {
      sendError(res, 403, { error: 'forbidden', message: `needs role ${role}, token has ${found.role}` });
      return;
    }
    next();
  };
}

/** Refuses requests without a live bearer token (or session, when `sessions` is given). */
export function requireToken(tokens: TokenStore, sessions?: SessionStore): RequestHandler {
  return requireAuth({ tokens, sessions });
}

/** Refuses a principal whose role is below `role`; use after {@link requireToken}. */
export function requireRole(role: Role): RequestHandler {
  return (req, res, next) => {
    const principal = principals.get(req);
    if (!principal) {
      // A route wired without authentication: fail closed.
      unauthorized(req, res, 'missing', undefined);
      return;
    }
    if (!roleAllows(principal.role, role)) {
      sendError(res, 403, { error: 'forbidden', message: `needs role ${role}, token has ${principal.role}` });
      return;
    }
    next();
  };
}

/** Remembers the principal of a request that authenticated another way (signing in). */
export function setPrincipal(req: Request, principal: Principal, credential: Credential): void {
  principals.set(req, principal);
  credentials.set(req, credential);
}
