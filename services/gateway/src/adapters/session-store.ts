import type { Database } from '@ferry/common';
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import { hashToken } from '../domain/tokens.js';
import type { Principal } from './token-store.js';

/** A live session: who it is and until when. */
export interface SessionInfo {
  principal: Principal;
  expiresAt: Date;
}

/** Why a session cookie does not authenticate. */
export type SessionProblem = 'unknown' | 'expired' | 'revoked';

/** Marks session secrets, as `fry_` marks tokens, so a leaked one is recognised. */
const SESSION_PREFIX = 'fss_';

/**
 * Web page sessions. The cookie carries a random 256-bit secret; the table keeps only
 * its SHA-256, bound to the token the person signed in with. A session ends when it
 * expires, when its person signs out, or when its token is revoked (checked at every
 * request, so revocation takes effect at once).
 */
export class SessionStore {
  private readonly ttlMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    options: { ttlMs: number; now?: () => Date },
  ) {
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? (() => new Date());
  }

  /** Starts a session for the token `principal` signed in with; the secret exists in clear only in the answer's cookie. */
  async create(principal: Principal): Promise<{ secret: string; expiresAt: Date }> {
    const secret = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.db.insertInto('sessions').values({ id: hashToken(secret), token_id: principal.tokenId, created_at: now, expires_at: expiresAt }).execute();
    return { secret, expiresAt };
  }

  /** The session of `secret`, or why there is none. An ended session's row is removed. */
  async lookup(secret: string): Promise<SessionInfo | SessionProblem> {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(secret)) return 'unknown';
    const id = hashToken(secret);
    const row = await this.db
      .selectFrom('sessions as s')
      .innerJoin('api_tokens as t', 't.id', 's.token_id')
      .select(['s.expires_at', 't.id as token_id', 't.name', 't.role', 't.revoked_at'])
      .where('s.id', '=', id)
      .executeTakeFirst();
    if (!row) return 'unknown';
    const problem = row.revoked_at !== null ? 'revoked' : row.expires_at.getTime() <= this.now().getTime() ? 'expired' : undefined;
    if (problem) {
      await this.db.deleteFrom('sessions').where('id', '=', id).execute();
      return problem;
    }
    return { principal: { tokenId: row.token_id, name: row.name, role: row.role }, expiresAt: row.expires_at };
  }

  /** Ends the session of `secret` (signing out); nothing happens when there is none. */
  async end(secret: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', hashToken(secret)).execute();
  }

  /** Deletes expired sessions and those of revoked tokens; returns how many. */
  async purge(): Promise<number> {
    const now = this.now();
    const result = await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('token_id', 'in', eb.selectFrom('api_tokens').select('id').where('revoked_at', 'is not', null))]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
