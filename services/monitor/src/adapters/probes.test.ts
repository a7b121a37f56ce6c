import { freePort } from '@ferry/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { integration } from '../testing/fixtures.js';
import { bucketUrl, Probes, redisPing } from './probes.js';

describe('dependency probes against the test servers', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('PINGs Redis with a plain RESP exchange', async () => {
    const env = await integration('probes');
    closers.push(() => env.close());
    await expect(redisPing(env.iso.redisUrl, 2000)).resolves.toBeUndefined();
    const closed = await freePort();
    await expect(redisPing(`redis://127.0.0.1:${closed}`, 2000)).rejects.toThrow(/redis: .*ECONNREFUSED/);
  });

  it('probes PostgreSQL, NATS, Redis, a configured zone and the zones uploaders report', async () => {
    const env = await integration('probes');
    closers.push(() => env.close());
    const closed = await freePort();
    await env.db
      .insertInto('zones')
      .values([
        { name: 'reported', kind: 's3', bucket: env.iso.bucket, endpoint: env.iso.zone.endpoint ?? null, region: 'us-east-1', prefix: '', dir: null, reported_by: 'uploader/u1', updated_at: new Date() },
        { name: 'gone', kind: 's3', bucket: 'raw', endpoint: `http://127.0.0.1:${closed}`, region: 'us-east-1', prefix: '', dir: null, reported_by: 'uploader/u2', updated_at: new Date() },
        { name: 'pool', kind: 'local', bucket: null, endpoint: null, region: null, prefix: '', dir: '/mnt/pool', reported_by: 'uploader/u3', updated_at: new Date() },
      ])
      .execute();
    const probes = new Probes({
      db: env.db,
      bus: env.bus,
      redisUrl: env.iso.redisUrl,
      zones: [env.iso.zone, { ...env.iso.zone, name: 'missing-bucket', bucket: 'no-such-bucket' }],
      zonesFromTable: true,
      timeoutMs: 3000,
    });
    closers.push(() => Promise.resolve(probes.close()));
    const results = await probes.run();
    const byTarget = Object.fromEntries(results.map((r) => [`${r.dependency}${r.target ? `:${r.target}` : ''}`, r.ok]));
    expect(byTarget).toEqual({ postgres: true, nats: true, redis: true, 'zone:default': true, 'zone:missing-bucket': false, 'zone:reported': true, 'zone:gone': false });
  });

  it('addresses buckets path-style on custom endpoints and virtual-host style on AWS', () => {
    expect(bucketUrl({ bucket: 'raw', endpoint: 'http://minio:9000/' })).toBe('http://minio:9000/raw');
    expect(bucketUrl({ bucket: 'raw', region: 'eu-west-1' })).toBe('https://raw.s3.eu-west-1.amazonaws.com/');
  });
});
