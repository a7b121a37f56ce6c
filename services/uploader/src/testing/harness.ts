import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Bus, createS3Client, fileIdFor, type EventName, type EventOf, type Received } from '@ferry/common';
import { isolate, testLogger, waitFor, type Isolated } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openZoneWriter, type ZoneWriter } from '../adapters/zone-writer.js';
import { createUploader, type Uploader } from '../app.js';
import { loadConfig } from '../config.js';
import { startS3Proxy, type ProxyDecision, type S3Proxy, type SeenRequest } from './s3-proxy.js';

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Options of {@link harness}. */
export interface HarnessOptions {
  env?: Record<string, string>;
  /** Puts a counting (and failing, delaying) proxy between the uploaders and s3rver. */
  proxy?: boolean | ((req: SeenRequest) => ProxyDecision | Promise<ProxyDecision>);
  /** Uploaders to start in this process (default 1; 0 for tests that run their own). */
  uploaders?: number;
  writer?: (real: ZoneWriter) => ZoneWriter;
}

/** A test's own NATS prefix, bucket, instrument folder and uploaders, all torn down by `close`. */
export interface Harness {
  iso: Isolated;
  dir: string;
  bus: Bus;
  proxy: S3Proxy | undefined;
  /** The environment an uploader of this test runs with (ZONE_ENDPOINT through the proxy). */
  env: Record<string, string>;
  events: Received<EventName>[];
  uploaders: Uploader[];
  startUploader: (env?: Record<string, string>) => Promise<Uploader>;
  /** Writes `content` to `name` in the instrument folder and announces it. */
  detect: (name: string, content: Buffer, overrides?: Partial<EventOf<'file.detected'>>) => Promise<EventOf<'file.detected'>>;
  announce: (event: EventOf<'file.detected'>) => Promise<void>;
  event: (name: string, content: Buffer, overrides?: Partial<EventOf<'file.detected'>>) => EventOf<'file.detected'>;
  outcome: (fileId: string, timeoutMs?: number) => Promise<Received<'upload.done'> | Received<'upload.failed'>>;
  objectBytes: (key: string) => Promise<Buffer>;
  exists: (key: string) => Promise<boolean>;
  close: () => Promise<void>;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const iso = await isolate('upl');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-upl-'));
  const logger = testLogger('uploader');
  const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'probe', service: 'uploader', logger });
  await bus.ensureStreams();
  const events: Received<EventName>[] = [];
  await bus.consume({
    stream: 'FILES',
    durable: 'probe',
    events: ['file.detected', 'upload.done', 'upload.failed'],
    handler: (m) => {
      events.push(m);
      return Promise.resolve();
    },
  });
  const proxy = options.proxy ? await startS3Proxy(iso.zone.endpoint ?? '', typeof options.proxy === 'function' ? options.proxy : undefined) : undefined;
  const env: Record<string, string> = { ...iso.env, UPLOAD_PART_SIZE_MB: '5', UPLOAD_QUEUE_SIZE: '2', ...(proxy ? { ZONE_ENDPOINT: proxy.endpoint } : {}), ...options.env };
  const buses: Bus[] = [];
  const uploaders: Uploader[] = [];
  const startUploader = async (extra: Record<string, string> = {}) => {
    const config = loadConfig({ ...env, ...extra });
    const own = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: `u${uploaders.length}`, service: 'uploader', logger });
    buses.push(own);
    let writer: ZoneWriter | undefined;
    if (options.writer) {
      writer = options.writer(openZoneWriter(config.zone, { partSizeBytes: config.partSizeBytes, queueSize: config.UPLOAD_QUEUE_SIZE }));
    }
    const uploader = createUploader({ bus: own, logger, config, writer, backoffMs: [50, 100], progressIntervalMs: 200 });
    await uploader.start();
    uploaders.push(uploader);
    return uploader;
  };
  for (let i = 0; i < (options.uploaders ?? 1); i++) await startUploader();

  const event = (name: string, content: Buffer, overrides: Partial<EventOf<'file.detected'>> = {}): EventOf<'file.detected'> => ({
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
  });
  const s3 = createS3Client(iso.zone);
  return {
    iso,
    dir,
    bus,
    proxy,
    env,
    events,
    uploaders,
    startUploader,
    event,
    announce: (e) => bus.publish('file.detected', e),
    async detect(name, content, overrides) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), content);
      const e = event(name, content, overrides);
      await bus.publish('file.detected', e);
      return e;
    },
    outcome: (fileId, timeoutMs = 30_000) =>
      waitFor(
        `an outcome for ${fileId}`,
        () =>
          events.find(
            (e): e is Received<'upload.done'> | Received<'upload.failed'> =>
              (e.name === 'upload.done' || (e.name === 'upload.failed' && e.event.final)) && e.event.fileId === fileId,
          ),
        { timeoutMs, intervalMs: 100 },
      ),
    async objectBytes(key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    exists: (key) =>
      s3.send(new HeadObjectCommand({ Bucket: iso.bucket, Key: key })).then(
        () => true,
        () => false,
      ),
    async close() {
      for (const u of uploaders) await u.stop();
      for (const b of buses) await b.close();
      await bus.close();
      await proxy?.close();
      s3.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
