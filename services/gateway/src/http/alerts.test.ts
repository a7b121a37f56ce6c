import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../test-fixtures.js';
import { alertSchema, silenceSchema } from './schemas.js';

describe('alerts and silences', () => {
  let gw: Gateway;
  let viewer: string;
  let operator: string;
  beforeEach(async () => {
    gw = await startGateway();
    viewer = await gw.bearer('viewer');
    operator = await gw.bearer('operator');
  });
  afterEach(async () => {
    await gw.close();
  });

  async function alert(fingerprint: string, status: 'firing' | 'resolved', mutedBy: string | null = null) {
    const startsAt = new Date('2025-01-01T00:00:00Z');
    await gw.db
      .insertInto('alerts')
      .values({
        fingerprint,
        rule: 'disk_low',
        labels: JSON.stringify({ alertname: 'disk_low', instrument: 'ms1', fp: fingerprint }),
        annotations: JSON.stringify({ summary: `disk of ${fingerprint} is low` }),
        status,
        group_key: '{}:{alertname="disk_low"}',
        starts_at: startsAt,
        ends_at: status === 'resolved' ? new Date('2025-01-01T01:00:00Z') : null,
        updated_at: new Date('2025-01-01T01:00:00Z'),
        muted_by: mutedBy,
      })
      .execute();
  }

  describe('GET /api/v1/alerts', () => {
    it('lists firing alerts by default, newest first, and resolved or all on request', async () => {
      await alert('a', 'resolved');
      await alert('b', 'firing', 'silence:123');
      await alert('c', 'firing');
      const firing = await request(gw.app).get('/api/v1/alerts').set('Authorization', viewer).expect(200);
      expect((firing.body.items as { fingerprint: string }[]).map((a) => a.fingerprint)).toEqual(['c', 'b']);
      for (const item of firing.body.items as unknown[]) alertSchema.parse(item);
      expect(firing.body.items[1]).toMatchObject({ status: 'firing', rule: 'disk_low', summary: 'disk of b is low', silenced: true, mutedBy: 'silence:123', endsAt: null, labels: { instrument: 'ms1' } });
      expect(firing.body.nextCursor).toBeNull();
      const resolved = await request(gw.app).get('/api/v1/alerts?state=resolved').set('Authorization', viewer).expect(200);
      expect(resolved.body.items).toMatchObject([{ fingerprint: 'a', status: 'resolved', endsAt: '2025-01-01T01:00:00.000Z', silenced: false }]);
      const all = await request(gw.app).get('/api/v1/alerts?state=all&limit=2').set('Authorization', viewer).expect(200);
      expect((all.body.items as { fingerprint: string }[]).map((a) => a.fingerprint)).toEqual(['c', 'b']);
      const rest = await request(gw.app).get(`/api/v1/alerts?state=all&limit=2&cursor=${all.body.nextCursor as string}`).set('Authorization', viewer).expect(200);
      expect(rest.body).toMatchObject({ items: [{ fingerprint: 'a' }], nextCursor: null });
    });

    it.each([
      ['state', 'state=open'],
      ['limit', 'limit=0'],
      ['cursor', 'cursor=abc'],
      ['since', 'since=2025-01-01'],
    ])('answers 400 naming %s', async (param, query) => {
      const res = await request(gw.app).get(`/api/v1/alerts?${query}`).set('Authorization', viewer).expect(400);
      expect(res.body.issues).toEqual([{ param, message: expect.any(String) }]);
    });

    it('needs a token', async () => {
      await request(gw.app).get('/api/v1/alerts').expect(401);
    });
  });

  describe('silences', () => {
    it('creates a silence from text and object matchers with a duration, as the monitor stores them', async () => {
      const before = Date.now();
      const res = await request(gw.app)
        .post('/api/v1/silences')
        .set('Authorization', operator)
        .send({ matchers: ['alertname="disk_low"', { name: 'instrument', value: 'ms.*', isRegex: true }], duration: '2h', comment: 'replacing the disk' })
        .expect(201);
      const silence = silenceSchema.parse(res.body);
      expect(silence).toMatchObject({
        matchers: [
          { name: 'alertname', value: 'disk_low', isRegex: false, isEqual: true },
          { name: 'instrument', value: 'ms.*', isRegex: true, isEqual: true },
        ],
        createdBy: 'test-operator',
        comment: 'replacing the disk',
        state: 'active',
      });
      expect(Date.parse(silence.endsAt) - Date.parse(silence.startsAt)).toBe(2 * 3_600_000);
      expect(Date.parse(silence.startsAt)).toBeGreaterThanOrEqual(before - 1000);
      const row = await gw.db.selectFrom('silences').selectAll().where('id', '=', silence.id).executeTakeFirstOrThrow();
      expect(row.matchers).toEqual(silence.matchers);
      expect(row.created_by).toBe('test-operator');

      const list = await request(gw.app).get('/api/v1/silences').set('Authorization', viewer).expect(200);
      expect((list.body.items as { id: string }[]).map((s) => s.id)).toEqual([silence.id]);
    });

    it('takes endsAt and a future startsAt (pending), and lists ended ones apart', async () => {
      const startsAt = new Date(Date.now() + 3_600_000).toISOString();
      const endsAt = new Date(Date.now() + 7_200_000).toISOString();
      const res = await request(gw.app).post('/api/v1/silences').set('Authorization', operator).send({ matchers: ['severity!="info"', 'instrument="ms1"'], startsAt, endsAt, comment: 'later' }).expect(201);
      expect(res.body).toMatchObject({ state: 'pending', startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString() });
      await request(gw.app).delete(`/api/v1/silences/${res.body.id as string}`).set('Authorization', operator).expect(204);
      // Ending one that has ended already is fine.
      await request(gw.app).delete(`/api/v1/silences/${res.body.id as string}`).set('Authorization', operator).expect(204);
      expect((await request(gw.app).get('/api/v1/silences').set('Authorization', viewer).expect(200)).body.items).toEqual([]);
      const expired = await request(gw.app).get('/api/v1/silences?state=expired').set('Authorization', viewer).expect(200);
      expect(expired.body.items).toMatchObject([{ id: res.body.id, state: 'expired' }]);
      const all = await request(gw.app).get('/api/v1/silences?state=all').set('Authorization', viewer).expect(200);
      expect(all.body.items).toHaveLength(1);
    });

    it('answers 404 when ending an unknown silence', async () => {
      const res = await request(gw.app).delete('/api/v1/silences/nope').set('Authorization', operator).expect(404);
      expect(res.body).toEqual({ error: 'not_found', message: 'no silence with id nope' });
    });

    it.each([
      ['matchers', { duration: '1h', comment: 'x' }],
      ['matchers', { matchers: [], duration: '1h', comment: 'x' }],
      ['matchers.0', { matchers: ['not a matcher'], duration: '1h', comment: 'x' }],
      ['matchers.0', { matchers: ['instrument=~"(ms"'], duration: '1h', comment: 'x' }],
      ['matchers.0.name', { matchers: [{ name: '1bad', value: 'x' }], duration: '1h', comment: 'x' }],
      ['matchers', { matchers: ['instrument=~".*"'], duration: '1h', comment: 'x' }],
      ['matchers', { matchers: ['instrument!="ms1"'], duration: '1h', comment: 'x' }],
      ['duration', { matchers: ['a="b"'], comment: 'x' }],
      ['duration', { matchers: ['a="b"'], duration: '1h', endsAt: '2030-01-01T00:00:00Z', comment: 'x' }],
      ['duration', { matchers: ['a="b"'], duration: 'soon', comment: 'x' }],
      ['duration', { matchers: ['a="b"'], duration: -5, comment: 'x' }],
      ['duration', { matchers: ['a="b"'], duration: '400d', comment: 'x' }],
      ['endsAt', { matchers: ['a="b"'], endsAt: 'tomorrow', comment: 'x' }],
      ['endsAt', { matchers: ['a="b"'], endsAt: '2020-01-01T00:00:00Z', comment: 'x' }],
      ['comment', { matchers: ['a="b"'], duration: '1h' }],
      ['comment', { matchers: ['a="b"'], duration: '1h', comment: '   ' }],
      ['owner', { matchers: ['a="b"'], duration: '1h', comment: 'x', owner: 'me' }],
    ])('refuses a silence with a bad %s', async (param, body) => {
      const res = await request(gw.app).post('/api/v1/silences').set('Authorization', operator).send(body).expect(400);
      expect(res.body.error).toBe('bad_request');
      expect((res.body.issues as { param: string }[]).map((i) => i.param)).toContain(param);
      expect(await gw.db.selectFrom('silences').selectAll().execute()).toEqual([]);
    });

    it('needs the operator role to create or end, a token to read', async () => {
      const body = { matchers: ['a="b"'], duration: '1h', comment: 'x' };
      await request(gw.app).post('/api/v1/silences').send(body).expect(401);
      const res = await request(gw.app).post('/api/v1/silences').set('Authorization', viewer).send(body).expect(403);
      expect(res.body.message).toBe('needs role operator, token has viewer');
      await request(gw.app).delete('/api/v1/silences/x').set('Authorization', viewer).expect(403);
      await request(gw.app).get('/api/v1/silences').expect(401);
      await request(gw.app).get('/api/v1/silences?state=soon').set('Authorization', viewer).expect(400);
      await request(gw.app).post('/api/v1/silences').set('Authorization', await gw.bearer('admin')).send(body).expect(201);
    });
  });
});
