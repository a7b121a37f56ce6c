import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../domain/tokens.js';
import { startGateway, type Gateway } from '../test-fixtures.js';
import { createApiToken, TokenRequestError, TokenStore } from './token-store.js';

describe('createApiToken', () => {
  let gw: Gateway;
  beforeEach(async () => {
    gw = await startGateway();
  });
  afterEach(async () => {
    await gw.close();
  });

  it('returns a fry_ token once and stores only its hash', async () => {
    const { id, token } = await createApiToken(gw.db, { name: ' ops laptop ', role: 'operator' });
    expect(token).toMatch(/^fry_[A-Za-z0-9_-]{43}$/);
    const row = await gw.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'ops laptop', role: 'operator', token_hash: hashToken(token), last_used_at: null, revoked_at: null });
    expect(row.created_at).toBeInstanceOf(Date);
    expect(await new TokenStore(gw.db).authenticate(token)).toEqual({ tokenId: id, name: 'ops laptop', role: 'operator' });
  });

  it('makes a different token every time', async () => {
    const a = await createApiToken(gw.db, { name: 'a', role: 'viewer' });
    const b = await createApiToken(gw.db, { name: 'a', role: 'viewer' });
    expect(a.id).not.toBe(b.id);
    expect(a.token).not.toBe(b.token);
  });

  it('refuses an empty name or an unknown role', async () => {
    await expect(createApiToken(gw.db, { name: '  ', role: 'viewer' })).rejects.toThrowError(TokenRequestError);
    // A caller without types (the CLI's JSON, local mode's config) can still pass anything.
    await expect(createApiToken(gw.db, { name: 'x', role: 'root' as 'admin' })).rejects.toThrowError(/viewer, operator, admin/);
    expect(await gw.db.selectFrom('api_tokens').select('id').execute()).toEqual([]);
  });
});
