import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Bus, contentKey, createS3Client, fileIdFor, type EventName, type EventOf, type Received } from '@ferry/common';
import { isolate, testLogger, waitFor, type Isolated } from '@ferry/testkit';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openZoneWriter, type ZoneWriter } from './adapters/zone-writer.js';
import { createUploader, type Uploader } from './app.js';
import { loadConfig } from './config.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('uploader against real NATS and S3', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(env: Record<string, string> = {}, writer?: (w: ZoneWriter) => ZoneWriter) {
    const iso = await isolate('upl');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-upl-'));
    const logger = testLogger('uploader');
    const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'u', service: 'uploader', logger });
    await bus.ensureStreams();
    const events: Received<EventName>[] = [];
    await bus.consume({ stream: 'FILES', durable: 'probe', events: ['file.detected', 'upload.done', 'upload.failed'], handler: (m) => { events.push(m); return Promise.resolve(); } });
    const config = loadConfig({ ...iso.env, UPLOAD_PART_SIZE_MB: '5', ...env });
    const realWriter = openZoneWriter(config.zone, { partSizeBytes: config.partSizeBytes, queueSize: 2 });
    const uploader: Uploader = createUploader({ bus, logger, config, writer: writer ? writer(realWriter) : realWriter, backoffMs: [50] });
    await uploader.start();
    cleanups.push(async () => {
      await uploader.stop();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    });
    const detect = async (name: string, content: Buffer, overrides: Partial<EventOf<'file.detected'>> = {}) => {
      await writeFile(join(dir, name), content);
      const event: EventOf<'file.detected'> = {
        fileId: fileIdFor('ms1', name, sha(content)),
        instrument: 'ms1',
        path: name,
        root: dir,
        kind: 'file',
        size: content.length,
        sha256: sha(content),
        mtime: new Date().toISOString(),
        detectedAt: new Date().toISOString(),
        watcher: 'test',
        ...overrides,
      };
      await bus.publish('file.detected', event);
      return event;
    };
    const outcome = (fileId: string) =>
      waitFor(`an outcome for ${fileId}`, () =>
        events.find((e) => (e.name === 'upload.done' || (e.name === 'upload.failed' && e.event.final)) && e.event.fileId === fileId),
      { timeoutMs: 20_000 });
    return { iso, dir, bus, events, detect, outcome, uploader };
  }

  async function objectBytes(iso: Isolated, key: string): Promise<Buffer> {
    const s3 = createS3Client(iso.zone);
    const out = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: key }));
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    s3.destroy();
    return bytes;
  }

  it('stores small and multipart files under their content address with their hash in metadata', async () => {
    const { iso, detect, outcome } = await setup();
    const small = randomBytes(1000);
    const large = randomBytes(12 * 1024 * 1024 + 17);
    const a = await detect('small.raw', small);
    const b = await detect('large.raw', large);
    const doneA = await outcome(a.fileId);
    const doneB = await outcome(b.fileId);
    expect(doneA.name).toBe('upload.done');
    expect(doneB.name).toBe('upload.done');
    expect(await objectBytes(iso, contentKey(a.sha256))).toEqual(small);
    expect((await objectBytes(iso, contentKey(b.sha256))).equals(large)).toBe(true);
    const s3 = createS3Client(iso.zone);
    const head = await s3.send(new HeadObjectCommand({ Bucket: iso.bucket, Key: contentKey(b.sha256) }));
    s3.destroy();
    expect(head.Metadata?.['ferry-sha256']).toBe(b.sha256);
    expect(head.Metadata?.['ferry-instrument']).toBe('ms1');
  });

  it('does not send content that is already stored', async () => {
    const { detect, outcome, uploader } = await setup();
    const content = randomBytes(2048);
    const first = await detect('one.raw', content);
    await outcome(first.fileId);
    const second = await detect('copy-of-one.raw', content, { fileId: fileIdFor('ms1', 'copy-of-one.raw', sha(content)) });
    const done = await outcome(second.fileId);
    expect(done.name === 'upload.done' && done.event.existed).toBe(true);
    expect(uploader.stats().stored).toBe(1);
    expect(uploader.stats().existed).toBe(1);
  });

  it('never stores a file that changed after it was detected', async () => {
    const { iso, dir, detect, outcome } = await setup();
    const content = randomBytes(8 * 1024 * 1024);
    const event = await detect('changing.raw', content, { sha256: sha(randomBytes(8)) });
    const failed = await outcome(event.fileId);
    expect(failed.name).toBe('upload.failed');
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/changed since it was detected/);
    const s3 = createS3Client(iso.zone);
    await expect(s3.send(new HeadObjectCommand({ Bucket: iso.bucket, Key: contentKey(event.sha256) }))).rejects.toThrow();
    s3.destroy();
    expect(await readFile(join(dir, 'changing.raw'))).toHaveLength(content.length);
  });

  it('fails for good, saying why, when the credentials are wrong', async () => {
    const { detect, outcome, events } = await setup({ ZONE_ACCESS_KEY_ID: 'NOBODY', ZONE_SECRET_ACCESS_KEY: 'wrong-secret' });
    const event = await detect('denied.raw', randomBytes(100));
    const failed = await outcome(event.fileId);
    expect(failed).toMatchObject({ name: "upload.failed", event: { final: true } });
    expect(failed.name === "upload.failed" && failed.event.error).toMatch(/access denied.*credentials/i);
    expect(events.filter((e) => e.name === 'upload.failed')).toHaveLength(1);
  });

  it('retries transient store errors and stores once', async () => {
    let failures = 0;
    const { detect, outcome, events } = await setup({}, (real) => ({
      zone: real.zone,
      close: () => real.close(),
      store: (req) => (failures++ < 2 ? Promise.reject(new Error('503 SlowDown')) : real.store(req)),
    }));
    const event = await detect('flaky.raw', randomBytes(500));
    const done = await outcome(event.fileId);
    expect(done.name).toBe('upload.done');
    const tries = events.filter((e) => e.name === 'upload.failed' && e.event.fileId === event.fileId);
    expect(tries.map((t) => t.name === 'upload.failed' && [t.event.attempt, t.event.final])).toEqual([[1, false], [2, false]]);
  });

  it('writes a local zone with the same layout, atomically', async () => {
    const zoneDir = await mkdtemp(join(tmpdir(), 'ferry-zone-'));
    const { detect, outcome } = await setup({ ZONE_KIND: 'local', ZONE_DIR: zoneDir, ZONE_PREFIX: 'pool' });
    const content = randomBytes(6 * 1024 * 1024);
    const event = await detect('local.raw', content);
    const done = await outcome(event.fileId);
    expect(done.name === 'upload.done' && done.event.key).toBe(contentKey(event.sha256, 'pool'));
    expect((await readFile(join(zoneDir, contentKey(event.sha256, 'pool')))).equals(content)).toBe(true);
    const meta = JSON.parse(await readFile(join(zoneDir, `${contentKey(event.sha256, 'pool')}.meta.json`), 'utf8')) as Record<string, string>;
    expect(meta['ferry-sha256']).toBe(event.sha256);
    await rm(zoneDir, { recursive: true, force: true });
  });
});
