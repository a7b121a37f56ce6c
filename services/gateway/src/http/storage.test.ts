import { openZoneReader } from '@ferry/common';
import { sql } from 'kysely';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { usageSchema, zoneSchema } from './schemas.js';

const DAY = 86_400_000;
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY + 3_600_000).toISOString();

describe('zones and usage', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('lists zones; admins see where they are, nobody sees credentials', async () => {
    gw = await startGateway({ zones: [openZoneReader({ name: 'pool', kind: 'local', dir: '/srv/pool', prefix: 'lab' })] });
    await gw.db
      .insertInto('zones')
      .values({ name: 'default', kind: 's3', bucket: 'ferry-data', endpoint: 'https://s3.example', region: 'eu-1', prefix: '', dir: null, reported_by: 'uploader/up1', updated_at: '2025-01-01T00:00:00Z' })
      .execute();
    const viewer = await request(gw.app).get('/api/v1/zones').set('Authorization', await gw.bearer('viewer')).expect(200);
    expect(viewer.body.items).toEqual([
      { name: 'default', kind: 's3', servedHere: false, updatedAt: '2025-01-01T00:00:00.000Z' },
      { name: 'pool', kind: 'local', servedHere: true, updatedAt: null },
    ]);
    const admin = await request(gw.app).get('/api/v1/zones').set('Authorization', await gw.bearer('admin')).expect(200);
    for (const item of admin.body.items as unknown[]) zoneSchema.parse(item);
    expect(admin.body.items).toEqual([
      { name: 'default', kind: 's3', servedHere: false, updatedAt: '2025-01-01T00:00:00.000Z', bucket: 'ferry-data', endpoint: 'https://s3.example', region: 'eu-1', prefix: '', dir: null, reportedBy: 'uploader/up1' },
      { name: 'pool', kind: 'local', servedHere: true, updatedAt: null, bucket: null, endpoint: null, region: null, prefix: 'lab', dir: '/srv/pool', reportedBy: null },
    ]);
  });

  it('never shows the credentials of a zone it serves', async () => {
    gw = await startGateway();
    await gw.close();
    const zone = gw.iso.zone;
    gw = await startGateway({ iso: gw.iso, zones: [openZoneReader(zone)] });
    const res = await request(gw.app).get('/api/v1/zones').set('Authorization', await gw.bearer('admin')).expect(200);
    expect(res.body.items[0]).toMatchObject({ name: 'default', bucket: zone.bucket, endpoint: zone.endpoint });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(zone.secretAccessKey);
    expect(text).not.toContain(zone.accessKeyId);
  });

  it('sums files and bytes stored per zone and day, with running totals and uploads per day', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [
      { id: 'old', zone: 'default', size: 1000, status: 'done', storedAt: day(-40) },
      { id: 'a', zone: 'default', size: 10, status: 'done', storedAt: day(-2) },
      { id: 'b', zone: 'default', size: 20, status: 'done', storedAt: day(-2) },
      { id: 'c', zone: 'archive', size: 5, status: 'stored', storedAt: day(0) },
      { id: 'pending', status: 'uploading' },
    ]);
    const res = await request(gw.app).get('/api/v1/usage?days=3').set('Authorization', await gw.bearer()).expect(200);
    const usage = usageSchema.parse(res.body);
    expect(usage.days).toBe(3);
    expect(usage.from).toBe(day(-2).slice(0, 10));
    expect(usage.to).toBe(day(0).slice(0, 10));
    expect(usage.totals).toEqual([
      { zone: 'archive', files: 1, bytes: 5 },
      { zone: 'default', files: 3, bytes: 1030 },
    ]);
    expect(usage.perZone).toEqual([
      {
        zone: 'archive',
        days: [
          { day: day(-2).slice(0, 10), files: 0, bytes: 0, totalFiles: 0, totalBytes: 0 },
          { day: day(-1).slice(0, 10), files: 0, bytes: 0, totalFiles: 0, totalBytes: 0 },
          { day: day(0).slice(0, 10), files: 1, bytes: 5, totalFiles: 1, totalBytes: 5 },
        ],
      },
      {
        zone: 'default',
        days: [
          { day: day(-2).slice(0, 10), files: 2, bytes: 30, totalFiles: 3, totalBytes: 1030 },
          { day: day(-1).slice(0, 10), files: 0, bytes: 0, totalFiles: 3, totalBytes: 1030 },
          { day: day(0).slice(0, 10), files: 0, bytes: 0, totalFiles: 3, totalBytes: 1030 },
        ],
      },
    ]);
    expect(usage.uploads.map((u) => u.files)).toEqual([2, 0, 1]);
    expect(usage.uploads.map((u) => u.bytes)).toEqual([30, 0, 5]);
  });

  it('defaults to 30 days and validates days', async () => {
    gw = await startGateway();
    const auth = await gw.bearer();
    const res = await request(gw.app).get('/api/v1/usage').set('Authorization', auth).expect(200);
    expect(res.body).toMatchObject({ days: 30, totals: [], perZone: [] });
    expect(res.body.uploads).toHaveLength(30);
    for (const bad of ['days=0', 'days=367', 'days=ten', 'days=1&days=2', 'zone=x']) {
      await request(gw.app).get(`/api/v1/usage?${bad}`).set('Authorization', auth).expect(400);
    }
    await request(gw.app).get('/api/v1/usage').expect(401);
    await request(gw.app).get('/api/v1/zones').expect(401);
    expect((await sql<{ n: number }>`select count(*)::int as n from files`.execute(gw.db)).rows[0]?.n).toBe(0);
  });
});
