import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { canonicalManifest, contentKey, createS3Client, fileIdFor, manifestDigest, type EventOf } from '@ferry/common';
import { waitFor } from '@ferry/testkit';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, sha, type Harness, type HarnessOptions } from './testing/harness.js';

describe('uploader against real NATS and S3', () => {
  const open: Harness[] = [];
  const temp: string[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
    for (const d of temp.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const setup = async (options: HarnessOptions = {}) => {
    const h = await harness(options);
    open.push(h);
    return h;
  };

  it('stores small and multipart files under their content address with their hash in metadata', async () => {
    const { iso, detect, outcome, objectBytes } = await setup();
    const small = randomBytes(1000);
    const large = randomBytes(12 * 1024 * 1024 + 17);
    const a = await detect('small.raw', small);
    const b = await detect('large.raw', large);
    expect((await outcome(a.fileId)).name).toBe('upload.done');
    expect((await outcome(b.fileId)).name).toBe('upload.done');
    expect(await objectBytes(contentKey(a.sha256))).toEqual(small);
    expect((await objectBytes(contentKey(b.sha256))).equals(large)).toBe(true);
    const s3 = createS3Client(iso.zone);
    const head = await s3.send(new HeadObjectCommand({ Bucket: iso.bucket, Key: contentKey(b.sha256) }));
    s3.destroy();
    expect(head.Metadata?.['ferry-sha256']).toBe(b.sha256);
    expect(head.Metadata?.['ferry-instrument']).toBe('ms1');
    expect(head.Metadata?.['ferry-path']).toBe('large.raw');
  });

  it('does not send content that is already stored', async () => {
    const { detect, outcome, uploaders } = await setup();
    const content = randomBytes(2048);
    const first = await detect('one.raw', content);
    await outcome(first.fileId);
    const second = await detect('copy-of-one.raw', content, { fileId: fileIdFor('ms1', 'copy-of-one.raw', sha(content)) });
    const done = await outcome(second.fileId);
    expect(done.name === 'upload.done' && done.event.existed).toBe(true);
    expect(uploaders[0]?.stats()).toMatchObject({ stored: 1, existed: 1 });
  });

  it('refuses, for good and saying why, an address that holds other content', async () => {
    const { detect, outcome, dir, announce, event } = await setup();
    const content = randomBytes(3000);
    const first = await detect('orig.raw', content);
    await outcome(first.fileId);
    // Same address, different size: what an alert is for, never an overwrite.
    await writeFile(join(dir, 'impostor.raw'), randomBytes(10));
    const impostor = event('impostor.raw', randomBytes(10), { sha256: first.sha256, fileId: 'impostor' });
    await announce(impostor);
    const failed = await outcome('impostor');
    expect(failed).toMatchObject({ name: 'upload.failed', event: { final: true } });
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/already exists with size 3000.*not overwritten/);
  });

  it('never stores a file that changed after it was detected', async () => {
    const { dir, detect, outcome, exists } = await setup();
    const content = randomBytes(8 * 1024 * 1024);
    const event = await detect('changing.raw', content, { sha256: sha(randomBytes(8)) });
    const failed = await outcome(event.fileId);
    expect(failed.name).toBe('upload.failed');
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/changed since it was detected/);
    expect(await exists(contentKey(event.sha256))).toBe(false);
    expect(await readFile(join(dir, 'changing.raw'))).toHaveLength(content.length);
  });

  it('uploads again on a retry command once the cause is fixed, and leaves job retries to the scheduler', async () => {
    const { dir, bus, detect, outcome, events, exists } = await setup();
    const content = randomBytes(2000);
    // Detected with one content, found with another: a permanent failure.
    const event = await detect('retried.raw', randomBytes(2000), { sha256: sha(content) });
    expect((await outcome(event.fileId)).name).toBe('upload.failed');
    await writeFile(join(dir, 'retried.raw'), content);

    const { watcher: _watcher, ...detected } = event;
    const command = (commandId: string, args: Record<string, unknown>) => bus.publish('command', { commandId, verb: 'retry', by: 'alice', at: new Date().toISOString(), args });
    await command('job-retry', { fileId: event.fileId, step: 'job:qc', pipeline: 'qc' });
    await command('upload-retry', { fileId: event.fileId, step: 'upload', detected });
    const done = await waitFor('upload.done after the retry', () => events.find((e) => e.name === 'upload.done' && e.event.fileId === event.fileId), { timeoutMs: 30_000, intervalMs: 100 });
    expect(done.event).toMatchObject({ sha256: event.sha256, existed: false });
    expect(await exists(contentKey(event.sha256))).toBe(true);
    // One failure, then one success: the job retry moved nothing.
    expect(events.filter((e) => e.event.fileId === event.fileId).map((e) => e.name)).toEqual(['file.detected', 'upload.failed', 'upload.done']);
  });

  it('dead-letters a retry command whose file does not match its args', async () => {
    const { bus, event } = await setup();
    const detected = event('nowhere.raw', randomBytes(10));
    const { watcher: _watcher, ...rest } = detected;
    const dead: string[] = [];
    const sub = bus.subscribeCore('dead.letter', (e) => dead.push(e.error));
    try {
      await bus.publish('command', { commandId: 'bad', verb: 'retry', by: 'alice', at: new Date().toISOString(), args: { fileId: 'other', step: 'upload', detected: rest } });
      await waitFor('the dead letter', () => dead.length > 0, { timeoutMs: 15_000 });
      expect(dead[0]).toMatch(/names file other but carries/);
    } finally {
      sub.stop();
    }
  });

  it('fails for good, saying why, when the credentials are wrong', async () => {
    const { detect, outcome, events } = await setup({ env: { ZONE_ACCESS_KEY_ID: 'NOBODY', ZONE_SECRET_ACCESS_KEY: 'wrong-secret' } });
    const event = await detect('denied.raw', randomBytes(100));
    const failed = await outcome(event.fileId);
    expect(failed).toMatchObject({ name: 'upload.failed', event: { final: true } });
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/access denied.*credentials/i);
    expect(events.filter((e) => e.name === 'upload.failed')).toHaveLength(1);
  });

  it('retries a failing store with backoff and publishes each failed try', async () => {
    let failures = 0;
    const { detect, outcome, events } = await setup({
      writer: (real) => ({
        zone: real.zone,
        close: () => real.close(),
        store: (req) => (failures++ < 2 ? Promise.reject(new Error('503 SlowDown')) : real.store(req)),
      }),
    });
    const event = await detect('flaky.raw', randomBytes(500));
    expect((await outcome(event.fileId)).name).toBe('upload.done');
    const tries = events.filter((e) => e.name === 'upload.failed' && e.event.fileId === event.fileId);
    expect(tries.map((t) => t.name === 'upload.failed' && [t.event.attempt, t.event.final])).toEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('writes a local zone with the same layout, atomically', async () => {
    const zoneDir = await mkdtemp(join(tmpdir(), 'ferry-zone-'));
    temp.push(zoneDir);
    const { detect, outcome } = await setup({ env: { ZONE_KIND: 'local', ZONE_DIR: zoneDir, ZONE_PREFIX: 'pool' } });
    const content = randomBytes(6 * 1024 * 1024);
    const event = await detect('local.raw', content);
    const done = await outcome(event.fileId);
    expect(done.name === 'upload.done' && done.event.key).toBe(contentKey(event.sha256, 'pool'));
    expect((await readFile(join(zoneDir, contentKey(event.sha256, 'pool')))).equals(content)).toBe(true);
    const meta = JSON.parse(await readFile(join(zoneDir, `${contentKey(event.sha256, 'pool')}.meta.json`), 'utf8')) as Record<string, string>;
    expect(meta['ferry-sha256']).toBe(event.sha256);
  });

  it('routes each instrument to its zone from the zones file, the event zone first, and reports every zone', async () => {
    const poolDir = await mkdtemp(join(tmpdir(), 'ferry-pool-'));
    temp.push(poolDir);
    const h = await setup({ uploaders: 0 });
    const yaml = [
      'default: lab',
      'zones:',
      '  lab:',
      `    endpoint: ${h.iso.zone.endpoint}`,
      `    bucket: ${h.iso.bucket}`,
      '    prefix: raw',
      '    pathStyle: true',
      '    accessKeyIdEnv: TEST_LAB_KEY',
      '    secretAccessKeyEnv: TEST_LAB_SECRET',
      '  pool:',
      '    kind: local',
      `    dir: ${poolDir}`,
      'instruments:',
      '  ms2: pool',
    ].join('\n');
    await writeFile(join(h.dir, 'zones.yaml'), yaml);
    const heartbeats: EventOf<'heartbeat'>[] = [];
    await h.bus.consume({ stream: 'HEARTBEATS', durable: 'hb', events: ['heartbeat'], handler: (m) => (m.name === 'heartbeat' && heartbeats.push(m.event), Promise.resolve()) });
    await h.startUploader({
      ZONES_FILE: join(h.dir, 'zones.yaml'),
      TEST_LAB_KEY: h.iso.zone.accessKeyId ?? '',
      TEST_LAB_SECRET: h.iso.zone.secretAccessKey ?? '',
    });
    const a = randomBytes(100);
    const b = randomBytes(200);
    const c = randomBytes(300);
    const toLab = await h.detect('a.raw', a);
    const toPool = await h.detect('b.raw', b, { instrument: 'ms2', fileId: 'b' });
    const chosen = await h.detect('c.raw', c, { zone: 'pool', fileId: 'c' });
    expect(await h.outcome(toLab.fileId)).toMatchObject({ name: 'upload.done', event: { zone: 'lab', key: contentKey(sha(a), 'raw') } });
    expect(await h.outcome(toPool.fileId)).toMatchObject({ name: 'upload.done', event: { zone: 'pool' } });
    expect(await h.outcome(chosen.fileId)).toMatchObject({ name: 'upload.done', event: { zone: 'pool' } });
    expect(await h.objectBytes(contentKey(sha(a), 'raw'))).toEqual(a);
    expect(await readFile(join(poolDir, contentKey(sha(b))))).toEqual(b);
    expect(await readFile(join(poolDir, contentKey(sha(c))))).toEqual(c);
    const beat = await waitFor('a heartbeat with zones', () => heartbeats.find((hb) => hb.service === 'uploader' && hb.zones));
    expect(beat.zones?.map((z) => z.name)).toEqual(['lab', 'pool']);
    expect(JSON.stringify(beat)).not.toContain(h.iso.zone.secretAccessKey);
    const unknown = await h.detect('d.raw', randomBytes(10), { zone: 'elsewhere', fileId: 'd' });
    const failed = await h.outcome(unknown.fileId);
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/zone elsewhere is not configured/);
  });

  it('stores each folder member content-addressed, then the manifest under the acquisition hash', async () => {
    const h = await setup();
    const members = { 'analysis.tdf': randomBytes(7 * 1024 * 1024), 'analysis.tdf_bin': randomBytes(4000), 'sub/method.m': randomBytes(10) };
    for (const [path, bytes] of Object.entries(members)) {
      await mkdir(join(h.dir, 'run1.d', 'sub'), { recursive: true });
      await writeFile(join(h.dir, 'run1.d', path), bytes);
    }
    // One member is already stored: it is not sent again.
    const known = await h.detect('known.bin', members['sub/method.m']);
    await h.outcome(known.fileId);
    const manifest = Object.entries(members).map(([path, bytes]) => ({ path, size: bytes.length, sha256: sha(bytes) }));
    const size = manifest.reduce((n, e) => n + e.size, 0);
    const event = h.event('run1.d', Buffer.alloc(0), { fileId: 'folder1', kind: 'folder', size, sha256: manifestDigest(manifest), manifest });
    await h.announce(event);
    const done = await h.outcome('folder1');
    expect(done).toMatchObject({ name: 'upload.done', event: { key: contentKey(manifestDigest(manifest)), existed: false } });
    for (const bytes of Object.values(members)) expect((await h.objectBytes(contentKey(sha(bytes)))).equals(bytes)).toBe(true);
    expect((await h.objectBytes(contentKey(event.sha256))).equals(Buffer.from(canonicalManifest(manifest), 'utf8'))).toBe(true);

    // A member that no longer matches its manifest entry: nothing is stored under the manifest.
    const changed = [{ path: 'x.bin', size: 5, sha256: sha(Buffer.from('other')) }];
    await mkdir(join(h.dir, 'run2.d'), { recursive: true });
    await writeFile(join(h.dir, 'run2.d', 'x.bin'), 'hello');
    await h.announce(h.event('run2.d', Buffer.alloc(0), { fileId: 'folder2', kind: 'folder', size: 5, sha256: manifestDigest(changed), manifest: changed }));
    const failed = await h.outcome('folder2');
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/changed since it was detected/);
    expect(await h.exists(contentKey(manifestDigest(changed)))).toBe(false);
  });

  it('holds to the per-zone concurrency limit', async () => {
    const h = await setup({ proxy: (req) => (req.op === 'PutObject' ? { delayMs: 150 } : undefined), env: { UPLOAD_CONCURRENCY: '4', UPLOAD_ZONE_CONCURRENCY: '1' } });
    const files = await Promise.all(Array.from({ length: 5 }, (_, i) => h.detect(`c${i}.raw`, randomBytes(1000 + i))));
    for (const f of files) expect((await h.outcome(f.fileId)).name).toBe('upload.done');
    expect(h.proxy?.maxInFlight('PutObject')).toBe(1);
  });

  it('publishes upload.progress while sending a multipart file', async () => {
    const h = await setup({ proxy: (req) => (req.op === 'UploadPart' ? { delayMs: 150 } : undefined) });
    const progress: EventOf<'upload.progress'>[] = [];
    const sub = h.bus.subscribeCore('upload.progress', (e) => progress.push(e));
    const content = randomBytes(21 * 1024 * 1024);
    const event = await h.detect('big.raw', content);
    expect((await h.outcome(event.fileId)).name).toBe('upload.done');
    sub.stop();
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ bytes: content.length, total: content.length });
  });
});
