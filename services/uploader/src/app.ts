import {
  Bus,
  contentKey,
  errorMessage,
  getTracer,
  HeartbeatPublisher,
  instrumentFilePath,
  isPermanent,
  META,
  PermanentError,
  withSpan,
  type EventOf,
  type Logger,
  type Subscription,
  type ZoneConfig,
} from '@ferry/common';
import { openZoneWriter, type ZoneWriter } from './adapters/zone-writer.js';
import type { UploaderConfig } from './config.js';

/** What {@link createUploader} needs. */
export interface UploaderDeps {
  bus: Bus;
  logger: Logger;
  config: Pick<
    UploaderConfig,
    'zone' | 'partSizeBytes' | 'UPLOAD_QUEUE_SIZE' | 'UPLOAD_CONCURRENCY' | 'UPLOAD_ATTEMPTS' | 'INSTRUMENT_ROOTS' | 'UPLOAD_DURABLE' | 'FERRY_INSTANCE'
  >;
  /** Replaces the zone's writer (tests inject failing stores). */
  writer?: ZoneWriter;
  version?: string;
  heartbeatIntervalMs?: number;
  progressIntervalMs?: number;
  /** Delays between tries, in ms. */
  backoffMs?: readonly number[];
}

/** What the uploader says of a zone in its heartbeats: where it is, never how to log in. */
function publicZone(zone: ZoneConfig) {
  return zone.kind === 'local'
    ? { name: zone.name, kind: zone.kind, prefix: zone.prefix, dir: zone.dir }
    : { name: zone.name, kind: zone.kind, prefix: zone.prefix, bucket: zone.bucket, endpoint: zone.endpoint, region: zone.region };
}

/** A running uploader. */
export interface Uploader {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): { uploading: number; stored: number; existed: number; failed: number; bytes: number };
}

/**
 * Takes `file.detected` from the shared durable consumer, stores the content under its
 * address in the zone, and publishes `upload.done`, or `upload.failed` for each failed
 * try (final when retries are spent or the error is permanent).
 */
export function createUploader(deps: UploaderDeps): Uploader {
  const { bus, config } = deps;
  const logger = deps.logger;
  const tracer = getTracer('uploader');
  const writer = deps.writer ?? openZoneWriter(config.zone, { partSizeBytes: config.partSizeBytes, queueSize: config.UPLOAD_QUEUE_SIZE });
  const counters = { uploading: 0, stored: 0, existed: 0, failed: 0, bytes: 0 };
  let subscription: Subscription | undefined;
  const heartbeat = new HeartbeatPublisher({
    bus,
    logger,
    service: 'uploader',
    instance: config.FERRY_INSTANCE,
    version: deps.version ?? '0.0.0',
    intervalMs: deps.heartbeatIntervalMs,
    details: () => ({ zone: writer.zone.name, ...counters }),
    zones: () => [publicZone(writer.zone)],
  });

  async function handle(event: EventOf<'file.detected'>, attempt: number): Promise<void> {
    const log = logger.child({ fileId: event.fileId, instrument: event.instrument, path: event.path });
    const zoneName = event.zone ?? writer.zone.name;
    try {
      if (zoneName !== writer.zone.name) throw new PermanentError(`zone ${zoneName} is not configured on this uploader (it has ${writer.zone.name})`);
      const source = instrumentFilePath(config.INSTRUMENT_ROOTS[event.instrument] ?? event.root, event.path);
      const key = contentKey(event.sha256, writer.zone.prefix);
      const started = Date.now();
      counters.uploading++;
      let result;
      try {
        result = await withSpan(tracer, 'upload', { attributes: { 'ferry.zone': zoneName, 'ferry.key': key, 'ferry.file.size': event.size } }, () =>
          writer.store({
            key,
            sourcePath: source,
            size: event.size,
            sha256: event.sha256,
            metadata: { [META.sha256]: event.sha256, [META.size]: String(event.size), [META.instrument]: event.instrument, [META.path]: encodeURIComponent(event.path) },
            onProgress: progress(event),
          }),
        );
      } finally {
        counters.uploading--;
      }
      if (result.existed) counters.existed++;
      else {
        counters.stored++;
        counters.bytes += event.size;
      }
      await bus.publish('upload.done', {
        fileId: event.fileId,
        instrument: event.instrument,
        path: event.path,
        size: event.size,
        sha256: event.sha256,
        zone: zoneName,
        key,
        root: event.root,
        existed: result.existed,
        storedAt: new Date().toISOString(),
        durationMs: Date.now() - started,
        uploader: config.FERRY_INSTANCE,
      });
      log.info({ key, existed: result.existed, ms: Date.now() - started }, result.existed ? 'already stored' : 'stored');
    } catch (err) {
      const final = isPermanent(err) || attempt >= config.UPLOAD_ATTEMPTS;
      log.warn({ err: errorMessage(err), attempt, final }, 'upload failed');
      await bus.publish('upload.failed', {
        fileId: event.fileId,
        instrument: event.instrument,
        path: event.path,
        sha256: event.sha256,
        zone: zoneName,
        error: errorMessage(err),
        attempt,
        final,
        failedAt: new Date().toISOString(),
        uploader: config.FERRY_INSTANCE,
      });
      if (final) {
        counters.failed++;
        return; // settled: the failure is recorded and visible, not a message to redeliver
      }
      throw err;
    }
  }

  function progress(event: EventOf<'file.detected'>): (bytes: number) => void {
    let last = 0;
    const every = deps.progressIntervalMs ?? 2000;
    return (bytes) => {
      const now = Date.now();
      if (now - last < every && bytes < event.size) return;
      last = now;
      bus
        .publish('upload.progress', { fileId: event.fileId, instrument: event.instrument, bytes, total: event.size, at: new Date(now).toISOString() })
        .catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'progress not sent'));
    };
  }

  return {
    stats: () => ({ ...counters }),
    async start() {
      subscription = await bus.consume({
        stream: 'FILES',
        durable: config.UPLOAD_DURABLE,
        filter: 'file.detected.>',
        events: ['file.detected'],
        concurrency: config.UPLOAD_CONCURRENCY,
        // One more delivery than tries, so the last try's failure is published before dead-lettering could happen.
        maxDeliver: config.UPLOAD_ATTEMPTS + 1,
        backoffMs: deps.backoffMs ?? [2000, 10_000, 30_000, 60_000, 300_000],
        ackWaitMs: 60_000,
        handler: (msg) => (msg.name === 'file.detected' ? handle(msg.event, msg.deliveries) : Promise.resolve()),
      });
      heartbeat.start();
    },
    async stop() {
      await subscription?.stop();
      subscription = undefined;
      await heartbeat.stop();
      writer.close();
    },
  };
}
