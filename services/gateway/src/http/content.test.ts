import { PutObjectCommand } from '@aws-sdk/client-s3';
import { contentKey, createS3Client, openZoneReader, type LocalZoneConfig } from '@ferry/common';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isolate } from '@ferry/testkit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeSha, insertFiles, startGateway, type Gateway } from '../test-fixtures.js';

/** Collects a binary body as a Buffer; superagent would otherwise leave it unparsed. */
function binary(res: unknown, done: (err: Error | null, body: Buffer) => void): void {
  // At run time superagent hands the parser Node's IncomingMessage.
  const stream = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
  stream.on('error', (err: Error) => done(err, Buffer.alloc(0)));
}

function randomBytesOf(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7919 + 13) % 256;
  return bytes;
}

describe('GET /api/v1/files/:id/content', () => {
  let gw: Gateway | undefined;
  const cleanup: string[] = [];
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('redirects to a presigned URL of an S3 zone that serves the same bytes', async () => {
    const iso = await isolate('content');
    const s3 = createS3Client(iso.zone);
    try {
      gw = await startGateway({ iso, zones: [openZoneReader(iso.zone, s3)] });
      const bytes = randomBytesOf(300_000);
      const sha = fakeSha('s3-content');
      const key = contentKey(sha);
      await s3.send(new PutObjectCommand({ Bucket: iso.zone.bucket, Key: key, Body: bytes }));
      await insertFiles(gw.db, [{ id: 'f1', path: 'runs/day 1/sample.raw', sha256: sha, status: 'done', zone: 'default', key, storedAt: '2025-01-01T00:00:00Z' }]);

      const res = await request(gw.app).get('/api/v1/files/f1/content').set('Authorization', await gw.bearer()).expect(302);
      expect(res.headers['cache-control']).toBe('no-store');
      const location = new URL(res.headers.location!);
      expect(location.origin).toBe(iso.zone.endpoint);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(location.searchParams.get('response-content-disposition')).toBe('attachment; filename="sample.raw"');

      const download = await fetch(location);
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    } finally {
      s3.destroy();
    }
  });

  it('streams a file from a local zone with its length and name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-gw-zone-'));
    cleanup.push(dir);
    const zone: LocalZoneConfig = { name: 'pool', kind: 'local', dir, prefix: 'lab' };
    gw = await startGateway({ zones: [openZoneReader(zone)] });
    const bytes = randomBytesOf(2_500_000);
    const sha = fakeSha('local-content');
    const key = contentKey(sha, zone.prefix);
    await mkdir(dirname(join(dir, key)), { recursive: true });
    await writeFile(join(dir, key), bytes);
    await insertFiles(gw.db, [{ id: 'f1', path: 'größe.raw', sha256: sha, status: 'stored', zone: 'pool', key, storedAt: '2025-01-01T00:00:00Z' }]);

    const res = await request(gw.app).get('/api/v1/files/f1/content').set('Authorization', await gw.bearer()).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.headers['content-disposition']).toBe(`attachment; filename="gr__e.raw"; filename*=UTF-8''gr%C3%B6%C3%9Fe.raw`);
    expect(Buffer.isBuffer(res.body) && res.body.equals(bytes)).toBe(true);
  });

  it('answers 404 when a local zone has lost the content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-gw-zone-'));
    cleanup.push(dir);
    gw = await startGateway({ zones: [openZoneReader({ name: 'pool', kind: 'local', dir, prefix: '' })] });
    await insertFiles(gw.db, [{ id: 'f1', status: 'stored', zone: 'pool', key: contentKey(fakeSha('gone')), storedAt: '2025-01-01T00:00:00Z' }]);
    const res = await request(gw.app).get('/api/v1/files/f1/content').set('Authorization', await gw.bearer()).expect(404);
    expect(res.body.message).toMatch(/missing from zone "pool"/);
  });

  it('refuses a local key that leaves the zone folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-gw-zone-'));
    cleanup.push(dir);
    await mkdir(join(dir, 'zone'));
    await writeFile(join(dir, 'secret'), 'do not serve');
    gw = await startGateway({ zones: [openZoneReader({ name: 'pool', kind: 'local', dir: join(dir, 'zone'), prefix: '' })] });
    await insertFiles(gw.db, [{ id: 'f1', status: 'stored', zone: 'pool', key: '../secret', storedAt: '2025-01-01T00:00:00Z' }]);
    const res = await request(gw.app).get('/api/v1/files/f1/content').set('Authorization', await gw.bearer()).expect(404);
    expect(res.body.message).toMatch(/outside its zone/);
  });

  it('answers 404 for an unknown file and for one not stored yet', async () => {
    gw = await startGateway();
    const auth = await gw.bearer();
    await insertFiles(gw.db, [{ id: 'new', status: 'uploading' }]);
    const unknown = await request(gw.app).get('/api/v1/files/nope/content').set('Authorization', auth).expect(404);
    expect(unknown.body).toEqual({ error: 'not_found', message: 'no file with id nope' });
    const pending = await request(gw.app).get('/api/v1/files/new/content').set('Authorization', auth).expect(404);
    expect(pending.body).toEqual({ error: 'not_found', message: 'file new has no stored content yet (status uploading)' });
  });

  it('answers 503 when the file’s zone is not configured here', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [{ id: 'f1', status: 'done', zone: 'archive', key: 'k', storedAt: '2025-01-01T00:00:00Z' }]);
    const res = await request(gw.app).get('/api/v1/files/f1/content').set('Authorization', await gw.bearer()).expect(503);
    expect(res.body).toEqual({ error: 'unavailable', message: 'zone "archive" is not configured on this gateway' });
  });

  it('needs a token', async () => {
    gw = await startGateway();
    await request(gw.app).get('/api/v1/files/f1/content').expect(401);
  });
});
