import {
  Bus,
  canonicalManifest,
  contentKey,
  errorMessage,
  getTracer,
  HeartbeatPublisher,
  instrumentFilePath,
  isPermanent,
  manifestDigest,
  META,
  PermanentError,
  withSpan,
  type EventOf,
  type Logger,
  type Subscription,
  type ZoneConfig,
  uploadRetryArgsSchema,
} from '@ferry/common';
import { posix } from 'node:path';
import { openKvResumeStore, type ResumeStore } from './adapters/resume-store.js';
import { describeStoreError } from './adapters/s3-writer.js';
import { UploadInterruptedError, type StoreResult } from './adapters/store-request.js';
import { Sweeper } from './adapters/sweeper.js';
import { openZoneWriter, type ZoneWriter } from './adapters/zone-writer.js';
import type { UploaderConfig } from './config.js';
import { Semaphore, TokenBucket } from './domain/limits.js';
import type { ZoneSettings } from './domain/zones-file.js';
import { uploaderMetrics } from './metrics.js';

/** What {@link createUploader} needs. */
export interface UploaderDeps {
  bus: Bus;
  logger: Logger;
  config: Pick<
    UploaderConfig,
    | 'zones'
    | 'defaultZone'
    | 'instruments'
    | 'partSizeBytes'
    | 'UPLOAD_QUEUE_SIZE'
    | 'UPLOAD_CONCURRENCY'
    | 'UPLOAD_ATTEMPTS'
    | 'INSTRUMENT_ROOTS'
    | 'UPLOAD_DURABLE'
    | 'FERRY_INSTANCE'
    | 'UPLOAD_ORPHAN_AGE'
    | 'UPLOAD_SWEEP_INTERVAL'
    | 'UPLOAD_ACK_WAIT'
    | 'UPLOAD_REQUEST_TIMEOUT'
  >;
  /** Replaces a zone's writer (tests inject failing stores); matched by zone name. */
  writer?: ZoneWriter;
  writers?: readonly ZoneWriter[];
  /** Where interrupted uploads are remembered; default: NATS KV `<prefix>_uploads`. */
  resume?: ResumeStore;
  version?: string;
  heartbeatIntervalMs?: number;
  progressIntervalMs?: number;
  /** Delays between tries, in ms. */
  backoffMs?: readonly number[];
  /** How long an upload's owner may stay silent before another uploader continues it (default: UPLOAD_ACK_WAIT). */
  leaseMs?: number;
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
  stats(): { uploading: number; stored: number; existed: number; failed: number; bytes: number; resumedParts: number };
  /** Runs the orphaned-upload sweeper once now (it also runs every UPLOAD_SWEEP_INTERVAL). */
  sweep(): Promise<Awaited<ReturnType<Sweeper['sweep']>>>;
}

interface Target {
  writer: ZoneWriter;
  slots: Semaphore;
}

/**
 * Takes `file.detected` from the shared durable consumer, stores the content under its
 * address in the instrument's zone, and publishes `upload.done`, or `upload.failed` for
 * each failed try (final when retries are spent or the error is permanent).
 */
export function createUploader(deps: UploaderDeps): Uploader {
  const { bus, config } = deps;
  const logger = deps.logger;
  const tracer = getTracer('uploader');
  const counters = { uploading: 0, stored: 0, existed: 0, failed: 0, bytes: 0, resumedParts: 0 };
  const targets = new Map<string, Target>();
  const leaseMs = deps.leaseMs ?? Math.max(10_000, config.UPLOAD_ACK_WAIT);
  const stopping = new AbortController();
  let subscription: Subscription | undefined;
  let commands: Subscription | undefined;
  let sweeper: Sweeper | undefined;
  let started: Promise<void> | undefined;
  const heartbeat = new HeartbeatPublisher({
    bus,
    logger,
    service: 'uploader',
    instance: config.FERRY_INSTANCE,
    version: deps.version ?? '0.0.0',
    intervalMs: deps.heartbeatIntervalMs,
    details: () => ({ zone: config.defaultZone, zones: config.zones.map((z) => z.zone.name).join(','), ...counters }),
    zones: () => config.zones.map((z) => publicZone(z.zone)),
  });

  function writerFor(settings: ZoneSettings, resume: ResumeStore): ZoneWriter {
    const name = settings.zone.name;
    const injected = deps.writers?.find((w) => w.zone.name === name) ?? (deps.writer?.zone.name === name ? deps.writer : undefined);
    return (
      injected ??
      openZoneWriter(settings.zone, {
        partSizeBytes: config.partSizeBytes,
        queueSize: config.UPLOAD_QUEUE_SIZE,
        checksums: settings.checksums,
        bandwidth: settings.bandwidth ? new TokenBucket(settings.bandwidth) : undefined,
        resume,
        instance: config.FERRY_INSTANCE,
        leaseMs,
        requestTimeoutMs: config.UPLOAD_REQUEST_TIMEOUT,
      })
    );
  }

  function zoneOf(event: EventOf<'file.detected'>): string {
    return event.zone ?? config.instruments[event.instrument] ?? config.defaultZone;
  }

  function metadata(event: EventOf<'file.detected'>, sha256: string, size: number, path: string): Record<string, string> {
    return { [META.sha256]: sha256, [META.size]: String(size), [META.instrument]: event.instrument, [META.path]: encodeURIComponent(path) };
  }

  /** Every member content-addressed (known ones skipped), then the manifest, whose hash is the acquisition's. */
  async function storeFolder(event: EventOf<'file.detected'>, target: Target, root: string, onProgress: (bytes: number) => void): Promise<StoreResult> {
    const manifest = event.manifest;
    if (!manifest || manifest.length === 0) throw new PermanentError(`folder ${event.path} came without a manifest`);
    let digest: string;
    try {
      digest = manifestDigest(manifest);
    } catch (err) {
      throw new PermanentError(`the manifest of ${event.path} is invalid: ${errorMessage(err)}`, { cause: err });
    }
    if (digest !== event.sha256) throw new PermanentError(`the manifest of ${event.path} hashes to ${digest}, not to the announced ${event.sha256}`);
    const prefix = target.writer.zone.prefix;
    let base = 0;
    let allExisted = true;
    for (const entry of [...manifest].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      const inside = posix.normalize(entry.path.replace(/\\/g, '/'));
      if (inside.startsWith('../') || inside === '..' || posix.isAbsolute(inside)) throw new PermanentError(`manifest entry ${entry.path} leaves the folder ${event.path}`);
      const path = `${event.path.replace(/\/+$/, '')}/${inside}`;
      const result = await target.writer.store({
        key: contentKey(entry.sha256, prefix),
        sourcePath: instrumentFilePath(root, path),
        size: entry.size,
        sha256: entry.sha256,
        metadata: metadata(event, entry.sha256, entry.size, path),
        onProgress: (bytes) => onProgress(base + bytes),
        signal: stopping.signal,
      });
      allExisted &&= result.existed;
      counters.resumedParts += result.resumedParts ?? 0;
      base += entry.size;
    }
    const body = Buffer.from(canonicalManifest(manifest), 'utf8');
    const result = await target.writer.store({
      key: contentKey(event.sha256, prefix),
      body,
      size: body.length,
      sha256: event.sha256,
      metadata: { ...metadata(event, event.sha256, body.length, event.path), 'ferry-kind': 'folder-manifest' },
      signal: stopping.signal,
    });
    onProgress(event.size);
    return { existed: allExisted && result.existed };
  }

  /** Stores one detected file; `retryOf` names the operator's `command.retry` it answers. */
  async function handle(event: EventOf<'file.detected'>, attempt: number, retryOf?: string): Promise<void> {
    const log = logger.child({ fileId: event.fileId, instrument: event.instrument, path: event.path });
    const zoneName = zoneOf(event);
    try {
      const target = targets.get(zoneName);
      if (!target) throw new PermanentError(`zone ${zoneName} is not configured on this uploader (it has ${[...targets.keys()].join(', ')})`);
      const root = config.INSTRUMENT_ROOTS[event.instrument] ?? event.root;
      const key = contentKey(event.sha256, target.writer.zone.prefix);
      const started = Date.now();
      let sending = 0;
      const result = await target.slots.run(async () => {
        counters.uploading++;
        uploaderMetrics.inFlight.inc({ zone: zoneName });
        sending = performance.now();
        try {
          return await withSpan(tracer, 'upload', { attributes: { 'ferry.zone': zoneName, 'ferry.key': key, 'ferry.file.size': event.size, 'ferry.kind': event.kind } }, () =>
            event.kind === 'folder'
              ? storeFolder(event, target, root, progress(event))
              : target.writer.store({
                  key,
                  sourcePath: instrumentFilePath(root, event.path),
                  size: event.size,
                  sha256: event.sha256,
                  metadata: metadata(event, event.sha256, event.size, event.path),
                  onProgress: progress(event),
                  signal: stopping.signal,
                }),
          );
        } finally {
          counters.uploading--;
          uploaderMetrics.inFlight.dec({ zone: zoneName });
        }
      });
      counters.resumedParts += result.resumedParts ?? 0;
      if (result.existed) {
        counters.existed++;
        uploaderMetrics.uploads.inc({ zone: zoneName, outcome: 'skipped_existing' });
      } else {
        counters.stored++;
        counters.bytes += event.size;
        uploaderMetrics.uploads.inc({ zone: zoneName, outcome: 'stored' });
        uploaderMetrics.bytes.inc({ zone: zoneName }, event.size);
        uploaderMetrics.seconds.observe({ zone: zoneName }, (performance.now() - sending) / 1000);
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
        ...(retryOf ? { retryOf } : {}),
      });
      log.info({ key, zone: zoneName, existed: result.existed, resumedParts: result.resumedParts, ms: Date.now() - started }, result.existed ? 'already stored' : 'stored');
    } catch (err) {
      // Stopping is not a failure: the message goes back and the next uploader continues.
      if (err instanceof UploadInterruptedError) {
        log.info({ reason: err.message }, 'upload handed back');
        throw err;
      }
      const final = isPermanent(err) || attempt >= config.UPLOAD_ATTEMPTS;
      // A zone this uploader does not serve is named in the event and the log, not in a label.
      uploaderMetrics.uploads.inc({ zone: targets.has(zoneName) ? zoneName : 'unconfigured', outcome: final ? 'failed' : 'retried' });
      const reason = describeStoreError(err);
      log.warn({ err: reason, attempt, final }, 'upload failed');
      await bus.publish('upload.failed', {
        fileId: event.fileId,
        instrument: event.instrument,
        path: event.path,
        sha256: event.sha256,
        zone: zoneName,
        error: reason,
        attempt,
        final,
        failedAt: new Date().toISOString(),
        uploader: config.FERRY_INSTANCE,
        ...(retryOf ? { retryOf } : {}),
      });
      if (final) {
        counters.failed++;
        return; // settled: the failure is recorded and visible, not a message to redeliver
      }
      throw err;
    }
  }

  /**
   * `command.retry` for a file whose upload failed for good (args `step: "upload"`, with
   * the file as detected): the same upload again, with the same tries and backoff as a
   * detection. Retries of processing jobs are the scheduler's and are passed over.
   */
  async function retryCommand(command: EventOf<'command'>, attempt: number): Promise<void> {
    if (command.args.step !== 'upload') return;
    const args = uploadRetryArgsSchema.safeParse(command.args);
    if (!args.success) throw new PermanentError(`retry command ${command.commandId} has invalid args: ${args.error.message}`);
    const { fileId, detected } = args.data;
    if (detected.fileId !== fileId) throw new PermanentError(`retry command ${command.commandId} names file ${fileId} but carries ${detected.fileId}`);
    const event = { ...detected, watcher: `retry:${command.by}` };
    const log = logger.child({ commandId: command.commandId, by: command.by, fileId, path: detected.path });
    // Uploader pools with their own durables each get the command; the one serving the zone acts.
    if (!targets.has(zoneOf(event))) {
      log.info({ zone: zoneOf(event) }, 'upload retry for a zone this uploader does not serve: left to those that do');
      return;
    }
    if (attempt === 1) log.info('upload retry requested');
    await handle(event, attempt, command.commandId);
  }

  function progress(event: EventOf<'file.detected'>): (bytes: number) => void {
    let last = 0;
    const every = deps.progressIntervalMs ?? 2000;
    return (bytes) => {
      const now = Date.now();
      if (now - last < every && bytes < event.size) return;
      last = now;
      bus
        .publish('upload.progress', { fileId: event.fileId, instrument: event.instrument, bytes: Math.min(bytes, event.size), total: event.size, at: new Date(now).toISOString() })
        .catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'progress not sent'));
    };
  }

  async function startNow(): Promise<void> {
    const resume = deps.resume ?? (await openKvResumeStore(bus, { ttlMs: config.UPLOAD_ORPHAN_AGE + 86_400_000 }));
    for (const settings of config.zones) {
      targets.set(settings.zone.name, {
        writer: writerFor(settings, resume),
        slots: new Semaphore(Math.min(settings.concurrency ?? config.UPLOAD_CONCURRENCY, config.UPLOAD_CONCURRENCY)),
      });
    }
    sweeper = new Sweeper({
      writers: [...targets.values()].map((t) => t.writer),
      resume,
      logger,
      maxAgeMs: config.UPLOAD_ORPHAN_AGE,
      intervalMs: config.UPLOAD_SWEEP_INTERVAL,
      leaseMs,
    });
    // Detections and retry commands are uploads alike: the same tries, backoff and parallelism.
    const tries = {
      concurrency: config.UPLOAD_CONCURRENCY,
      // One more delivery than tries, so the last try's failure is published before dead-lettering could happen.
      maxDeliver: config.UPLOAD_ATTEMPTS + 1,
      backoffMs: deps.backoffMs ?? [2000, 10_000, 30_000, 60_000, 300_000],
      ackWaitMs: config.UPLOAD_ACK_WAIT,
    };
    subscription = await bus.consume({
      stream: 'FILES',
      durable: config.UPLOAD_DURABLE,
      filter: 'file.detected.>',
      events: ['file.detected'],
      ...tries,
      handler: (msg) => (msg.name === 'file.detected' ? handle(msg.event, msg.deliveries) : Promise.resolve()),
    });
    commands = await bus.consume({
      stream: 'OPS',
      durable: `${config.UPLOAD_DURABLE}-commands`,
      filter: 'command.retry',
      events: ['command'],
      ...tries,
      // A new durable does not replay the retries of the past month.
      deliverPolicy: 'new',
      handler: (msg) => (msg.name === 'command' ? retryCommand(msg.event, msg.deliveries) : Promise.resolve()),
    });
    heartbeat.start();
    sweeper.start();
  }

  return {
    stats: () => ({ ...counters }),
    start() {
      started ??= startNow();
      return started;
    },
    sweep: () => (sweeper ? sweeper.sweep() : Promise.resolve([])),
    async stop() {
      // Multipart uploads stop between parts and are handed back with what was sent.
      stopping.abort();
      await Promise.all([subscription?.stop(), commands?.stop()]);
      subscription = undefined;
      commands = undefined;
      await sweeper?.stop();
      await heartbeat.stop();
      for (const target of targets.values()) target.writer.close();
      targets.clear();
    },
  };
}
