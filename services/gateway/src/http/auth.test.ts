import { testLogger } from '@ferry/testkit';
import express from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiToken, TokenStore } from '../adapters/token-store.js';
import { hashToken } from '../domain/tokens.js';
import { startGateway, type Gateway } from '../test-fixtures.js';
import { principalOf, requireRole, requireToken } from './auth.js';
import { errorHandler } from './errors.js';

describe('bearer tokens on /api/v1', () => {
  let gw: Gateway;
  beforeEach(async () => {
    gw = await startGateway();
  });
  afterEach(async () => {
    await gw.close();
  });

  async function expect401(header: string | undefined, message: RegExp, challenge: RegExp) {
    let req = request(gw.app).get('/api/v1/files');
    if (header !== undefined) req = req.set('Authorization', header);
    const res = await req.expect(401);
    expect(res.body.error).toBe('unauthorized');
    expect(res.body.message).toMatch(message);
    expect(res.headers['www-authenticate']).toMatch(challenge);
    return res;
  }

  it('refuses a request without Authorization', async () => {
    await expect401(undefined, /missing Authorization header/, /^Bearer realm="ferry"$/);
  });

  it('refuses a malformed header', async () => {
    await expect401('Basic dXNlcjpwYXNz', /malformed/, /^Bearer .*invalid_request/);
    await expect401('Bearer', /malformed/, /^Bearer /);
  });

  it('refuses an unknown token without echoing it', async () => {
    const res = await expect401('Bearer fry_notarealtokenatall', /unknown or revoked token/, /^Bearer .*invalid_token/);
    expect(JSON.stringify(res.body)).not.toContain('fry_notarealtokenatall');
  });

  it('refuses a revoked token', async () => {
    const { id, token } = await createApiToken(gw.db, { name: 'leaked', role: 'admin' });
    await request(gw.app).get('/api/v1/files').set('Authorization', `Bearer ${token}`).expect(200);
    await gw.db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    await expect401(`Bearer ${token}`, /unknown or revoked token/, /invalid_token/);
  });

  it('answers unknown /api/v1 routes with JSON 404, after authentication', async () => {
    await request(gw.app).get('/api/v1/nothing-here').expect(401);
    const res = await request(gw.app).get('/api/v1/nothing-here').set('Authorization', await gw.bearer()).expect(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'no route for GET /nothing-here' });
    const outside = await request(gw.app).get('/elsewhere').expect(404);
    expect(outside.body.error).toBe('not_found');
  });

  it('stores only the hash and records the last use', async () => {
    const { id, token } = await createApiToken(gw.db, { name: 'ci', role: 'viewer' });
    const before = await gw.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(before.token_hash).toBe(hashToken(token));
    expect(before.last_used_at).toBeNull();
    expect(JSON.stringify(before)).not.toContain(token);
    await request(gw.app).get('/api/v1/files').set('Authorization', `Bearer ${token}`).expect(200);
    const after = await gw.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(after.last_used_at).toBeInstanceOf(Date);
  });

  it('writes last_used_at at most once a minute', async () => {
    const { id, token } = await createApiToken(gw.db, { name: 'busy', role: 'viewer' });
    let now = new Date('2030-01-01T00:00:00Z');
    const store = new TokenStore(gw.db, () => now);
    const lastUsed = async () =>
      (await gw.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow()).last_used_at?.toISOString();
    await store.authenticate(token);
    expect(await lastUsed()).toBe('2030-01-01T00:00:00.000Z');
    now = new Date('2030-01-01T00:00:59Z');
    await store.authenticate(token);
    expect(await lastUsed()).toBe('2030-01-01T00:00:00.000Z');
    now = new Date('2030-01-01T00:01:00Z');
    expect(await store.authenticate(token)).toEqual({ tokenId: id, name: 'busy', role: 'viewer' });
    expect(await lastUsed()).toBe('2030-01-01T00:01:00.000Z');
  });

  it('refuses a role below the route’s with 403 naming both roles', async () => {
    // No admin route exists yet, so the middleware is checked on a small app of its own.
    const app = express();
    app.get('/admin', requireToken(new TokenStore(gw.db)), requireRole('admin'), (req, res) => {
      res.json({ by: principalOf(req)?.name });
    });
    app.use(errorHandler(testLogger('gateway')));
    const res = await request(app).get('/admin').set('Authorization', await gw.bearer('operator')).expect(403);
    expect(res.body).toEqual({ error: 'forbidden', message: 'needs role admin, token has operator' });
    const ok = await request(app).get('/admin').set('Authorization', await gw.bearer('admin')).expect(200);
    expect(ok.body).toEqual({ by: 'test-admin' });
  });

  it('lets every role read files', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      await request(gw.app).get('/api/v1/files').set('Authorization', await gw.bearer(role)).expect(200);
    }
  });
});
