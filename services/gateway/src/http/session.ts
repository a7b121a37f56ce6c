import { errorMessage, type Logger } from '@ferry/common';
import { z } from 'zod';
import type { SessionStore } from '../adapters/session-store.js';
import type { TokenStore } from '../adapters/token-store.js';
import { readCookie, SESSION_COOKIE, sessionCookie } from '../domain/cookies.js';
import type { FailureLimiter } from '../domain/rate-limit.js';
import { credentialOf, passesCsrfGuard, secureRequest, setPrincipal, type Authenticator } from './auth.js';
import { sendError } from './errors.js';
import { defineRoute, type ApiRoute } from './routes.js';
import { sessionSchema } from './schemas.js';

/** Expired sessions are swept at most this often, on a sign-in. */
const PURGE_EVERY_MS = 3_600_000;

/** `/session`: the web page signs in with a token and gets an httpOnly cookie. */
export function sessionRoutes(deps: { auth: Authenticator & { sessions: SessionStore }; tokens: TokenStore; limiter: FailureLimiter; logger: Logger }): ApiRoute[] {
  const { auth, tokens, limiter, logger } = deps;
  const sessions = auth.sessions;
  let lastPurge = 0;
  return [
    defineRoute({
      method: 'post',
      path: '/session',
      tag: 'session',
      summary: 'Sign in with a token; sets the ferry_session cookie',
      description:
        'The cookie is httpOnly, SameSite=Strict, Path=/, Secure on https; it lasts 12 h by default and ends when the token is revoked. Failed sign-ins are limited per client address (429 with Retry-After).',
      access: 'public',
      body: z.strictObject({ token: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters').meta({ description: 'An API token (fry_…).' }) }),
      bodyRequired: true,
      responses: {
        200: { description: 'Signed in; the cookie is set.', schema: sessionSchema, headers: { 'Set-Cookie': 'ferry_session=…; Path=/; HttpOnly; SameSite=Strict' } },
        401: { description: 'Unknown or revoked token.' },
        429: { description: 'Too many failed sign-ins from this address.', headers: { 'Retry-After': 'Seconds to wait.' } },
      },
      async handle({ req, res, body }) {
        const client = req.ip ?? 'unknown';
        const waitMs = limiter.retryAfterMs(client);
        if (waitMs > 0) {
          const seconds = Math.ceil(waitMs / 1000);
          res.setHeader('Retry-After', String(seconds));
          sendError(res, 429, { error: 'too_many_requests', message: `too many failed sign-ins from this address; try again in ${seconds} s` });
          return;
        }
        const principal = await tokens.authenticate(body.token);
        if (!principal) {
          limiter.fail(client);
          logger.warn({ client }, 'sign-in refused: unknown or revoked token');
          sendError(res, 401, { error: 'unauthorized', message: 'unknown or revoked token' });
          return;
        }
        // Signing in again replaces the session this browser had.
        const previous = readCookie(req.get('cookie'), SESSION_COOKIE);
        if (previous) await sessions.end(previous);
        const { secret, expiresAt } = await sessions.create(principal);
        setPrincipal(req, principal, { kind: 'session', secret, expiresAt });
        res.setHeader('Set-Cookie', sessionCookie(secret, { maxAgeSeconds: (expiresAt.getTime() - Date.now()) / 1000, secure: secureRequest(req, auth) }));
        res.setHeader('Cache-Control', 'no-store');
        logger.info({ name: principal.name, role: principal.role }, 'signed in');
        res.json({ name: principal.name, role: principal.role, expiresAt: expiresAt.toISOString() });
        if (Date.now() - lastPurge > PURGE_EVERY_MS) {
          lastPurge = Date.now();
          sessions.purge().then(
            (n) => {
              if (n > 0) logger.info({ sessions: n }, 'ended sessions removed');
            },
            (err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not remove ended sessions'),
          );
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/session',
      tag: 'session',
      summary: 'Who is signed in (cookie) or whose token this is (bearer)',
      access: 'viewer',
      responses: { 200: { description: 'The principal.', schema: sessionSchema } },
      handle({ req, res, principal }) {
        const credential = credentialOf(req);
        res.setHeader('Cache-Control', 'no-store');
        res.json({ name: principal?.name, role: principal?.role, expiresAt: credential?.kind === 'session' ? credential.expiresAt.toISOString() : null });
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/session',
      tag: 'session',
      summary: 'Sign out: ends the session and clears the cookie',
      description: 'Needs X-Ferry-Request: 1 (or Content-Type: application/json) when a session cookie is sent. Answers 204 also without a session.',
      access: 'public',
      responses: { 204: { description: 'Signed out.' }, 403: { description: 'The CSRF header is missing.' } },
      async handle({ req, res }) {
        const secret = readCookie(req.get('cookie'), SESSION_COOKIE);
        if (secret) {
          if (!passesCsrfGuard(req)) {
            sendError(res, 403, { error: 'forbidden', message: 'signing out by session cookie needs the header "X-Ferry-Request: 1" (protection against cross-site requests)' });
            return;
          }
          await sessions.end(secret);
        }
        res.setHeader('Set-Cookie', sessionCookie('', { maxAgeSeconds: 0, secure: secureRequest(req, auth) }));
        res.status(204).end();
      },
    }),
  ];
}
