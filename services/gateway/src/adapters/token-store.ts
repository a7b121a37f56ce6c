import { FerryError, type Database } from '@ferry/common';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { generateToken, hashToken, isRole, ROLES, type Role } from '../domain/tokens.js';

/** Who a valid token belongs to; never carries the token itself. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

/** A token request that cannot be met (empty name, unknown role). */
export class TokenRequestError extends FerryError {}

// last_used_at answers "is this token still in use?"; minute precision is plenty and
// spares the database a write on every request.
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Creates an API token and stores only its SHA-256. The returned `token` is the one
 * and only time the secret exists in clear: show it to its owner and forget it.
 */
export async function createApiToken(db: Kysely<Database>, options: { name: string; role: Role }): Promise<{ id: string; token: string }> {
  const name = options.name.trim();
  if (name === '' || name.length > 200) throw new TokenRequestError('token name must be 1 to 200 characters');
  if (!isRole(options.role)) throw new TokenRequestError(`token role must be one of ${ROLES.join(', ')}`);
  const id = randomUUID();
  const token = generateToken();
  await db.insertInto('api_tokens').values({ id, name, role: options.role, token_hash: hashToken(token) }).execute();
  return { id, token };
}

/** Looks tokens up by hash and records when each was last used. */
export class TokenStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The principal of a live token, or undefined for an unknown or revoked one. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'role', 'revoked_at', 'last_used_at'])
      .where('token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() >= TOUCH_INTERVAL_MS) {
      // Conditional, so gateways racing on the same token write once per interval.
      await this.db
        .updateTable('api_tokens')
        .set({ last_used_at: now })
        .where('id', '=', row.id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', new Date(now.getTime() - TOUCH_INTERVAL_MS))]))
        .execute();
    }
    return { tokenId: row.id, name: row.name, role: row.role };
  }
}
