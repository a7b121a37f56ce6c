import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { componentSchema, instrumentSchema } from './schemas.js';

const MINUTE = 60_000;

describe('GET /api/v1/instruments and /components', () => {
  let gw: Gateway;
  let auth: string;
  beforeEach(async () => {
    gw = await startGateway();
    auth = await gw.bearer('viewer');
  });
  afterEach(async () => {
    await gw.close();
  });

  async function component(service: string, instance: string, options: { seenAgoMs: number; intervalMs?: number; disks?: { path: string; freeBytes: number; totalBytes: number }[]; details?: Record<string, string | number | null> }) {
    const now = Date.now();
    await gw.db
      .insertInto('components')
      .values({
        service,
        instance,
        version: '1.2.3',
        started_at: new Date(now - 3_600_000),
        last_seen_at: new Date(now - options.seenAgoMs),
        interval_ms: options.intervalMs ?? 30_000,
        disks: JSON.stringify(options.disks ?? []),
        details: JSON.stringify(options.details ?? {}),
      })
      .execute();
  }

  it('counts files per instrument and status, with the last detection and the watchers’ heartbeats', async () => {
    await insertFiles(gw.db, [
      { id: 'a', instrument: 'ms1', status: 'done', detectedAt: '2025-01-01T00:00:00Z' },
      { id: 'b', instrument: 'ms1', status: 'done', detectedAt: '2025-01-03T00:00:00Z' },
      { id: 'c', instrument: 'ms1', status: 'failed', detectedAt: '2025-01-02T00:00:00Z' },
      { id: 'd', instrument: 'ms2', status: 'uploading', detectedAt: '2025-01-01T00:00:00Z' },
    ]);
    await component('watcher', 'ms1-pc1', { seenAgoMs: 10_000, details: { instrument: 'ms1', lastDetectionAt: '2025-01-02T00:00:00Z' } });
    await component('watcher', 'ms3-pc', { seenAgoMs: 10 * MINUTE, details: { instrument: 'ms3', lastDetectionAt: '2025-02-01T00:00:00.000Z' } });
    await component('uploader', 'up1', { seenAgoMs: 1000 });

    const res = await request(gw.app).get('/api/v1/instruments').set('Authorization', auth).expect(200);
    const items = res.body.items as unknown[];
    for (const item of items) instrumentSchema.parse(item);
    expect((res.body.items as { instrument: string }[]).map((i) => i.instrument)).toEqual(['ms1', 'ms2', 'ms3']);
    const [ms1, ms2, ms3] = res.body.items;
    expect(ms1).toMatchObject({
      counts: { detected: 0, uploading: 0, stored: 0, queued: 0, processing: 0, done: 2, failed: 1 },
      total: 3,
      lastDetectedAt: '2025-01-03T00:00:00.000Z',
      stale: false,
      watchers: [{ instance: 'ms1-pc1', ageMs: expect.any(Number), stale: false, lastSeenAt: expect.any(String) }],
    });
    expect(ms1.heartbeatAgeMs).toBeGreaterThanOrEqual(10_000);
    expect(ms2).toMatchObject({ counts: { uploading: 1 }, total: 1, watchers: [], lastHeartbeatAt: null, heartbeatAgeMs: null, stale: null });
    // Known only from its watcher, which has missed more than three beats.
    expect(ms3).toMatchObject({ total: 0, lastDetectedAt: '2025-02-01T00:00:00.000Z', stale: true });
  });

  it('shows components with heartbeat age, stale flag and disks with a full-forecast', async () => {
    const total = 1000e9;
    await component('watcher', 'ms1-pc1', { seenAgoMs: 5000, details: { instrument: 'ms1', filesPending: 2 }, disks: [{ path: '/data', freeBytes: 100e9, totalBytes: total }, { path: '/state', freeBytes: 50e9, totalBytes: 60e9 }] });
    await component('uploader', 'up1', { seenAgoMs: 2 * MINUTE });
    // One sample every 10 minutes over the last hour: 10 GB less each time, i.e. 60 GB an hour.
    const now = Date.now();
    const samples = Array.from({ length: 7 }, (_, i) => {
      const at = new Date(now - (6 - i) * 10 * MINUTE);
      return { service: 'watcher', instance: 'ms1-pc1', path: '/data', bucket_at: at, at, free_bytes: 160e9 - i * 10e9, total_bytes: total };
    });
    // A steady volume: no forecast of it filling.
    const steady = samples.map((s) => ({ ...s, path: '/state', free_bytes: 50e9, total_bytes: 60e9 }));
    await gw.db.insertInto('disk_samples').values([...samples, ...steady]).execute();

    const res = await request(gw.app).get('/api/v1/components').set('Authorization', auth).expect(200);
    for (const item of res.body.items as unknown[]) componentSchema.parse(item);
    const [up, watcher] = res.body.items;
    expect(up).toMatchObject({ service: 'uploader', instance: 'up1', stale: true, staleAfterMs: 90_000, instrument: null, disks: [] });
    expect(watcher).toMatchObject({ service: 'watcher', version: '1.2.3', intervalMs: 30_000, stale: false, instrument: 'ms1', details: { instrument: 'ms1', filesPending: 2 } });
    expect(watcher.ageMs).toBeGreaterThanOrEqual(5000);
    const [data, state] = watcher.disks;
    expect(data).toMatchObject({ path: '/data', freeBytes: 100e9, totalBytes: total, usedFraction: 0.9, forecast: { samples: 7, spanMs: 60 * MINUTE } });
    expect(data.forecast.freeBytesPerHour).toBeCloseTo(-60e9, -6);
    // 100 GB left at 60 GB an hour: full in 100 minutes.
    expect(Date.parse(data.forecast.fullAt as string) - now).toBeGreaterThan(95 * MINUTE);
    expect(Date.parse(data.forecast.fullAt as string) - now).toBeLessThan(105 * MINUTE);
    expect(state.forecast).toMatchObject({ freeBytesPerHour: 0, fullAt: null });
  });

  it('gives no forecast from too few samples', async () => {
    await component('watcher', 'w', { seenAgoMs: 0, disks: [{ path: '/d', freeBytes: 1, totalBytes: 0 }] });
    const res = await request(gw.app).get('/api/v1/components').set('Authorization', auth).expect(200);
    expect(res.body.items[0].disks).toEqual([{ path: '/d', freeBytes: 1, totalBytes: 0, usedFraction: null, forecast: null }]);
  });

  it('answers empty lists on an empty database, needs a token and refuses parameters', async () => {
    expect((await request(gw.app).get('/api/v1/instruments').set('Authorization', auth).expect(200)).body).toEqual({ items: [] });
    expect((await request(gw.app).get('/api/v1/components').set('Authorization', auth).expect(200)).body).toEqual({ items: [] });
    await request(gw.app).get('/api/v1/instruments').expect(401);
    await request(gw.app).get('/api/v1/components').expect(401);
    const res = await request(gw.app).get('/api/v1/components?stale=true').set('Authorization', auth).expect(400);
    expect(res.body.issues).toEqual([{ param: 'stale', message: 'is not a known parameter' }]);
  });
});
