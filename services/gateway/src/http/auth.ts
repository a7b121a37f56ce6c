import type { Request, RequestHandler, Response } from 'express';
import type { Principal, TokenStore } from '../adapters/token-store.js';
import { parseBearer, roleAllows, type Role } from '../domain/tokens.js';
import { sendError } from './errors.js';

// Kept beside the request rather than on res.locals, which is untyped.
const principals = new WeakMap<Request, Principal>();

/** The principal that {@link requireToken} authenticated for this request. */
export function principalOf(req: Request): Principal | undefined {
  return principals.get(req);
}

const MESSAGES = {
  missing: 'missing Authorization header; send "Authorization: Bearer <token>"',
  malformed: 'malformed Authorization header; expected "Bearer <token>"',
  unknown: 'unknown or revoked token',
} as const;

// RFC 6750 section 3: no error code when no credentials were sent at all.
const CHALLENGES = {
  missing: 'Bearer realm="ferry"',
  malformed: 'Bearer realm="ferry", error="invalid_request"',
  unknown: 'Bearer realm="ferry", error="invalid_token"',
} as const;

function unauthorized(res: Response, why: keyof typeof MESSAGES): void {
  res.setHeader('WWW-Authenticate', CHALLENGES[why]);
  sendError(res, 401, { error: 'unauthorized', message: MESSAGES[why] });
}

/** Refuses requests without a live bearer token; the token is never logged nor echoed. */
export function requireToken(tokens: TokenStore): RequestHandler {
  return async (req, res, next) => {
    const credential = parseBearer(req.get('authorization'));
    if (!credential.ok) {
      unauthorized(res, credential.reason);
      return;
    }
    const principal = await tokens.authenticate(credential.token);
    if (!principal) {
      unauthorized(res, 'unknown');
      return;
    }
    principals.set(req, principal);
    next();
  };
}

/** Refuses a token whose role is below `role`; use after {@link requireToken}. */
export function requireRole(role: Role): RequestHandler {
  return (req, res, next) => {
    const principal = principals.get(req);
    if (!principal) {
      // A route wired without requireToken: fail closed.
      unauthorized(res, 'missing');
      return;
    }
    if (!roleAllows(principal.role, role)) {
      sendError(res, 403, { error: 'forbidden', message: `needs role ${role}, token has ${principal.role}` });
      return;
    }
    next();
  };
}
