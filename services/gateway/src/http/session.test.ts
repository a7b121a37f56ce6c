import { createLogger } from '@ferry/common';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiToken } from '../adapters/token-store.js';
import { hashToken } from '../domain/tokens.js';
import { startGateway, type Gateway } from '../test-fixtures.js';
import { sessionSchema } from './schemas.js';

/** The `ferry_session=…` pair of a Set-Cookie header, and its attributes. */
function sessionCookieOf(res: request.Response): { pair: string; value: string; attributes: string } {
  const raw = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('ferry_session='));
  if (!raw) throw new Error('no ferry_session cookie was set');
  const [pair = '', ...rest] = raw.split('; ');
  return { pair, value: pair.slice('ferry_session='.length), attributes: rest.join('; ') };
}

describe('sessions for the web page', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  async function signIn(g: Gateway, role: 'viewer' | 'operator' | 'admin' = 'viewer') {
    const { id, token } = await createApiToken(g.db, { name: `web-${role}`, role });
    const res = await request(g.app).post('/api/v1/session').send({ token }).expect(200);
    return { id, token, res, cookie: sessionCookieOf(res) };
  }

  it('signs in with a token and sets an httpOnly, SameSite=Strict cookie holding a secret stored only hashed', async () => {
    gw = await startGateway();
    const { res, cookie, token } = await signIn(gw, 'operator');
    expect(sessionSchema.parse(res.body)).toEqual({ name: 'web-operator', role: 'operator', expiresAt: expect.any(String) });
    expect(Date.parse(res.body.expiresAt as string) - Date.now()).toBeGreaterThan(11.9 * 3_600_000);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(cookie.value).toMatch(/^fss_[A-Za-z0-9_-]{43}$/);
    expect(cookie.attributes).toBe('Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
    expect(JSON.stringify(res.body)).not.toContain(token);
    const rows = await gw.db.selectFrom('sessions').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(hashToken(cookie.value));
    expect(JSON.stringify(rows)).not.toContain(cookie.value);
  });

  it('marks the cookie Secure on https (behind a trusted proxy) or when configured', async () => {
    gw = await startGateway({ options: { trustProxy: true } });
    const { token } = await createApiToken(gw.db, { name: 'x', role: 'viewer' });
    const https = await request(gw.app).post('/api/v1/session').set('X-Forwarded-Proto', 'https').send({ token }).expect(200);
    expect(sessionCookieOf(https).attributes).toMatch(/; Secure$/);
    const plain = await request(gw.app).post('/api/v1/session').send({ token }).expect(200);
    expect(sessionCookieOf(plain).attributes).not.toMatch(/Secure/);
    await gw.close();
    gw = await startGateway({ options: { secureCookies: true } });
    const { token: other } = await createApiToken(gw.db, { name: 'y', role: 'viewer' });
    const forced = await request(gw.app).post('/api/v1/session').send({ token: other }).expect(200);
    expect(sessionCookieOf(forced).attributes).toMatch(/; Secure$/);
  });

  it('authenticates API requests and GET /session by cookie; bearer tokens still work', async () => {
    gw = await startGateway();
    const { cookie } = await signIn(gw, 'admin');
    await request(gw.app).get('/api/v1/files').set('Cookie', cookie.pair).expect(200);
    const me = await request(gw.app).get('/api/v1/session').set('Cookie', cookie.pair).expect(200);
    expect(me.body).toEqual({ name: 'web-admin', role: 'admin', expiresAt: expect.any(String) });
    const bearer = await request(gw.app).get('/api/v1/session').set('Authorization', await gw.bearer('viewer')).expect(200);
    expect(bearer.body).toEqual({ name: 'test-viewer', role: 'viewer', expiresAt: null });
    const none = await request(gw.app).get('/api/v1/session').expect(401);
    expect(none.body.message).toMatch(/missing Authorization header or session cookie/);
  });

  it('guards changes made by cookie against cross-site requests', async () => {
    gw = await startGateway();
    const { cookie } = await signIn(gw, 'operator');
    // A form post from another site: no JSON type, no custom header.
    const form = await request(gw.app).post('/api/v1/backups').set('Cookie', cookie.pair).type('form').send('a=1').expect(403);
    expect(form.body.message).toMatch(/X-Ferry-Request: 1/);
    await request(gw.app).post('/api/v1/backups').set('Cookie', cookie.pair).expect(403);
    // The page's own requests pass the guard (then 503: this gateway has no NATS).
    await request(gw.app).post('/api/v1/backups').set('Cookie', cookie.pair).set('X-Ferry-Request', '1').expect(503);
    await request(gw.app).post('/api/v1/backups').set('Cookie', cookie.pair).send({}).expect(503);
    const silence = { matchers: ['alertname="disk_low"'], duration: '1h', comment: 'maintenance' };
    await request(gw.app).post('/api/v1/silences').set('Cookie', cookie.pair).type('text/plain').send(JSON.stringify(silence)).expect(403);
    const made = await request(gw.app).post('/api/v1/silences').set('Cookie', cookie.pair).send(silence).expect(201);
    await request(gw.app).delete(`/api/v1/silences/${made.body.id as string}`).set('Cookie', cookie.pair).expect(403);
    await request(gw.app).delete(`/api/v1/silences/${made.body.id as string}`).set('Cookie', cookie.pair).set('X-Ferry-Request', '1').expect(204);
    // Bearer tokens are not sent by browsers on their own: no guard.
    await request(gw.app).post('/api/v1/backups').set('Authorization', await gw.bearer('operator')).expect(503);
  });

  it('signs out: DELETE ends the session and clears the cookie', async () => {
    gw = await startGateway();
    const { cookie } = await signIn(gw);
    await request(gw.app).delete('/api/v1/session').set('Cookie', cookie.pair).expect(403);
    const out = await request(gw.app).delete('/api/v1/session').set('Cookie', cookie.pair).set('X-Ferry-Request', '1').expect(204);
    expect(sessionCookieOf(out)).toMatchObject({ value: '', attributes: expect.stringMatching(/Max-Age=0; Expires=Thu, 01 Jan 1970/) });
    expect(await gw.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
    const after = await request(gw.app).get('/api/v1/files').set('Cookie', cookie.pair).expect(401);
    expect(after.body.message).toBe('unknown or ended session; sign in again');
    expect(sessionCookieOf(after).attributes).toMatch(/Max-Age=0/);
    // Signing out without a session is fine too.
    await request(gw.app).delete('/api/v1/session').expect(204);
  });

  it('replaces the session of a browser that signs in again', async () => {
    gw = await startGateway();
    const { token, cookie } = await signIn(gw);
    const again = await request(gw.app).post('/api/v1/session').set('Cookie', cookie.pair).send({ token }).expect(200);
    const fresh = sessionCookieOf(again);
    expect(fresh.value).not.toBe(cookie.value);
    expect(await gw.db.selectFrom('sessions').select('id').execute()).toEqual([{ id: hashToken(fresh.value) }]);
    await request(gw.app).get('/api/v1/session').set('Cookie', cookie.pair).expect(401);
    await request(gw.app).get('/api/v1/session').set('Cookie', fresh.pair).expect(200);
  });

  it('ends the sessions of a revoked token at once', async () => {
    gw = await startGateway();
    const { id, cookie } = await signIn(gw);
    await gw.db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    const res = await request(gw.app).get('/api/v1/files').set('Cookie', cookie.pair).expect(401);
    expect(res.body.message).toMatch(/has been revoked/);
    expect(await gw.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
  });

  it('says when a session has expired', async () => {
    gw = await startGateway();
    const { cookie } = await signIn(gw);
    await gw.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).execute();
    const res = await request(gw.app).get('/api/v1/alerts').set('Cookie', cookie.pair).expect(401);
    expect(res.body).toEqual({ error: 'unauthorized', message: 'session expired; sign in again' });
  });

  it('refuses unknown tokens and bad bodies without echoing them', async () => {
    gw = await startGateway();
    const bad = await request(gw.app).post('/api/v1/session').send({ token: 'fry_guess' }).expect(401);
    expect(bad.body).toEqual({ error: 'unauthorized', message: 'unknown or revoked token' });
    expect(bad.headers['set-cookie']).toBeUndefined();
    await request(gw.app).post('/api/v1/session').expect(400);
    const empty = await request(gw.app).post('/api/v1/session').send({ token: '' }).expect(400);
    expect(empty.body.issues).toEqual([{ param: 'token', message: 'must not be empty' }]);
    const extra = await request(gw.app).post('/api/v1/session').send({ token: 'x', password: 'y' }).expect(400);
    expect(extra.body.issues).toEqual([{ param: 'password', message: 'is not a known field' }]);
    const form = await request(gw.app).post('/api/v1/session').type('form').send('token=fry_x').expect(400);
    expect(form.body.issues).toEqual([{ param: 'body', message: expect.stringMatching(/application\/json/) }]);
    const broken = await request(gw.app).post('/api/v1/session').set('Content-Type', 'application/json').send('{"token": "fry_secretvalue'). expect(400);
    expect(broken.body).toEqual({ error: 'bad_request', message: 'the request body is not valid JSON' });
  });

  it('limits failed sign-ins per address with 429 and Retry-After', async () => {
    gw = await startGateway({ options: { signInLimit: 3, signInWindowMs: 60_000 } });
    const { token } = await createApiToken(gw.db, { name: 'real', role: 'viewer' });
    // Successes do not count.
    for (let i = 0; i < 5; i++) await request(gw.app).post('/api/v1/session').send({ token }).expect(200);
    for (let i = 0; i < 3; i++) await request(gw.app).post('/api/v1/session').send({ token: `fry_wrong${i}` }).expect(401);
    const limited = await request(gw.app).post('/api/v1/session').send({ token }).expect(429);
    expect(limited.body.error).toBe('too_many_requests');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('keeps tokens and session secrets out of the logs', async () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    gw = await startGateway({ logger: createLogger({ service: 'gateway', level: 'debug', destination }) });
    const { token, cookie } = await signIn(gw);
    await request(gw.app).get('/api/v1/files').set('Cookie', cookie.pair).expect(200);
    await request(gw.app).post('/api/v1/session').send({ token: 'fry_wrongwrongwrong' }).expect(401);
    await request(gw.app).get('/api/v1/files?q=abc').set('Authorization', `Bearer ${token}`).expect(200);
    await new Promise((r) => setTimeout(r, 50));
    const text = lines.join('');
    expect(text).toContain('"route":"/api/v1/session"');
    expect(text).toContain('signed in');
    for (const secret of [token, cookie.value, 'fry_wrongwrongwrong']) expect(text).not.toContain(secret);
  });
});
