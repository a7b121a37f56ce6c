import type { Bus } from '@ferry/common/bus';
import { errorMessage, isPermanent } from '@ferry/common/errors';
import { fileIdFor, manifestDigest, type EventOf, type ManifestEntry } from '@ferry/common/events';
import type { FileHash } from '@ferry/common/hash';
import type { Logger } from '@ferry/common/logger';
import { getTracer, SpanKind, withSpan } from '@ferry/common/tracing';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashFilePipelined, type HashedFile } from './adapters/hasher.js';
import type { Inventory } from './adapters/inventory.js';
import type { Probe } from './adapters/probe.js';
import type { InventoryEntry } from './domain/inventory-state.js';
import { watcherMetrics } from './metrics.js';
import { Limiter } from './domain/limiter.js';
import { toSystemPath } from './domain/names.js';

/**
 * Hashes a file: {@link hashFilePipelined} unless a test passes another. `after` is the
 * file's state once read (from the same handle); without it the path is stat'ed again.
 */
export type HashFn = (path: string, options: { signal?: AbortSignal; expectedSize?: number }) => Promise<FileHash & { after?: HashedFile['after'] }>;

/** Options for {@link Announcer}. */
export interface AnnouncerOptions {
  instrument: string;
  root: string;
  zone: string | undefined;
  /** This watcher's instance name, carried in each event. */
  watcher: string;
  bus: Bus;
  inventory: Inventory;
  logger: Logger;
  hashConcurrency: number;
  hash?: HashFn;
  now: () => number;
  signal: AbortSignal;
}

/** What a file looked like when it was judged stable. */
type FileProbe = Pick<Extract<Probe, { kind: 'file' }>, 'size' | 'mtimeMs'>;
type FolderProbe = Extract<Probe, { kind: 'folder' }>;

/** The result of hashing a complete acquisition. */
export type Hashed =
  | { kind: 'hashed'; entry: InventoryEntry; mtime: Date; manifest: ManifestEntry[] | undefined }
  /** Written to while we read it: its window starts again. */
  | { kind: 'changed' }
  | { kind: 'gone' }
  | { kind: 'unreadable'; path: string; error: string }
  | { kind: 'stopped' };

/** The result of announcing a hashed acquisition. */
export type Announced = { kind: 'announced'; fileId: string } | { kind: 'duplicate' } | { kind: 'failed'; reason: string } | { kind: 'stopped' };

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;
/**
 * Files below this size are read through their own, wider limit: the hash limit is there
 * for sustained reads that compete with the instrument, and a tree of 100k small files
 * hashed two at a time would wait on latency, not bandwidth.
 */
const SMALL_FILE_BYTES = 1024 * 1024;
export const SMALL_FILE_CONCURRENCY = 16;
const PUBLISHES_IN_FLIGHT = 4;
const PUBLISH_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Hashes complete acquisitions with bounded concurrency and announces each content once:
 * publish `file.detected` (message id from instrument, path and hash), then journal it.
 * A folder's members are hashed one by one through the same limit, each journaled as it
 * is done, so a restart in the middle of a large folder hashes only what was left.
 */
export class Announcer {
  private readonly limiter: Limiter;
  private readonly smallLimiter = new Limiter(SMALL_FILE_CONCURRENCY);
  /**
   * Publishes awaiting their ack. A few suffice (the client pipelines them on one socket);
   * many cost memory for nothing: each holds a validated copy, a span and a request whose
   * objects then outlive the young generation. 32 at once took 100 MB more than 4 for
   * the same throughput.
   */
  private readonly publishing = new Limiter(PUBLISHES_IN_FLIGHT);
  private readonly hash: HashFn;
  private readonly tracer = getTracer('watcher');
  /** Content being announced: a second path with the same content waits for the first. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Units with a read in progress, and how many reads. */
  readonly reading = new Map<string, number>();
  private outbox: { event: EventOf<'file.detected'>; resolve: (r: true | Announced) => void }[] = [];
  /** Files (and folder members) read to the end since start, and their bytes. */
  readonly hashed = { files: 0, bytes: 0 };

  constructor(private readonly options: AnnouncerOptions) {
    this.limiter = new Limiter(options.hashConcurrency);
    this.hash = options.hash ?? ((path, o) => hashFilePipelined(path, o));
  }

  private abs(rel: string): string {
    return join(this.options.root, toSystemPath(rel));
  }

  /** Reads and hashes one file that was last seen with `seen`; `changed` when it no longer matches. */
  private async read(unit: string, path: string, seen: FileProbe, signal: AbortSignal): Promise<HashedFile | 'changed'> {
    return (seen.size < SMALL_FILE_BYTES ? this.smallLimiter : this.limiter).run(async () => {
      signal.throwIfAborted();
      this.reading.set(unit, (this.reading.get(unit) ?? 0) + 1);
      try {
        const abs = this.abs(path);
        const endTimer = watcherMetrics.hashSeconds.startTimer({ instrument: this.options.instrument });
        const digest = await this.hash(abs, { signal, expectedSize: seen.size });
        endTimer();
        this.hashed.files++;
        this.hashed.bytes += digest.size;
        watcherMetrics.hashBytes.inc({ instrument: this.options.instrument }, digest.size);
        const info = digest.after ?? (await stat(abs));
        const after = { size: info.size, mtimeMs: info.mtimeMs, mtime: info.mtime };
        // Unchanged from when it was seen stable, to the end of the read: the digest is of
        // that state. Anything else is a write while we read, or a new file at the path.
        if (after.size !== seen.size || after.mtimeMs !== seen.mtimeMs || digest.size !== after.size) return 'changed';
        return { sha256: digest.sha256, size: digest.size, after };
      } finally {
        const n = (this.reading.get(unit) ?? 1) - 1;
        if (n > 0) this.reading.set(unit, n);
        else this.reading.delete(unit);
      }
    });
  }

  /**
   * Hashes a file judged complete, checking it is still as it was seen. At a plain file's
   * deadline this is the only look: the read ends with an fstat of the same handle, which
   * tells what a stat by path would, one system call cheaper per file.
   */
  async hashFile(path: string, seen: FileProbe): Promise<Hashed> {
    let digest: HashedFile | 'changed';
    try {
      digest = await this.read(path, path, seen, this.options.signal);
    } catch (err) {
      return this.failure(path, err);
    }
    if (digest === 'changed') return { kind: 'changed' };
    const { after } = digest;
    return { kind: 'hashed', entry: { kind: 'file', size: after.size, mtimeMs: after.mtimeMs, sha256: digest.sha256 }, mtime: after.mtime, manifest: undefined };
  }

  /** Hashes every member of a complete folder (reusing hashes journaled before) and builds its manifest. */
  async hashFolder(path: string, seen: FolderProbe): Promise<Hashed> {
    const state = this.options.inventory.state;
    const own = new AbortController();
    const signal = AbortSignal.any([this.options.signal, own.signal]);
    let outcome: Hashed | undefined;
    const members = await Promise.all(
      seen.members.map(async (m) => {
        const known = state.knownMemberHash(path, m);
        if (known) return { ...m, sha256: known };
        try {
          const digest = await this.read(path, `${path}/${m.path}`, m, signal);
          if (digest === 'changed') throw Object.assign(new Error('member changed while hashed'), { code: 'CHANGED' });
          const hashed = { ...m, sha256: digest.sha256 };
          this.options.inventory.rememberMember(path, hashed);
          return hashed;
        } catch (err) {
          if (!outcome) outcome = code(err) === 'CHANGED' || code(err) === 'ENOENT' ? { kind: 'changed' } : this.failure(`${path}/${m.path}`, err);
          own.abort();
          return undefined;
        }
      }),
    );
    if (outcome) return outcome;
    const manifest = members.map((m) => ({ path: m!.path, size: m!.size, sha256: m!.sha256 }));
    const mtimeMs = Math.max(0, ...seen.members.map((m) => m.mtimeMs));
    return {
      kind: 'hashed',
      entry: { kind: 'folder', size: seen.size, mtimeMs, sha256: manifestDigest(manifest), members: members.map((m) => m!) },
      mtime: new Date(mtimeMs),
      manifest,
    };
  }

  private failure(path: string, err: unknown): Hashed {
    if (this.options.signal.aborted) return { kind: 'stopped' };
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return { kind: 'gone' };
    // A directory where the file was: look again.
    if (code(err) === 'EISDIR') return { kind: 'changed' };
    return { kind: 'unreadable', path, error: errorMessage(err) };
  }

  /**
   * Announces `entry` at `path` unless its content was announced before (then it is only
   * journaled, as a duplicate). Publishing is retried until it works or the watcher stops.
   */
  async announce(path: string, hashed: Extract<Hashed, { kind: 'hashed' }>): Promise<Announced> {
    const { entry } = hashed;
    const { inventory, instrument } = this.options;
    for (let wait = this.inFlight.get(entry.sha256); wait; wait = this.inFlight.get(entry.sha256)) await wait;
    if (inventory.state.contents.has(entry.sha256)) {
      inventory.settle(path, { ...entry, duplicate: true });
      this.options.logger.info({ path, sha256: entry.sha256 }, 'same content as an acquisition already announced; not announced again');
      return { kind: 'duplicate' };
    }
    let release!: () => void;
    this.inFlight.set(entry.sha256, new Promise<void>((resolve) => (release = resolve)));
    try {
      const fileId = fileIdFor(instrument, path, entry.sha256);
      const event: EventOf<'file.detected'> = {
        fileId,
        instrument,
        path,
        root: this.options.root,
        kind: entry.kind,
        size: entry.size,
        sha256: entry.sha256,
        mtime: hashed.mtime.toISOString(),
        detectedAt: new Date(this.options.now()).toISOString(),
        zone: this.options.zone,
        watcher: this.options.watcher,
        ...(hashed.manifest ? { manifest: hashed.manifest } : {}),
      };
      const limit = this.options.bus.nc.info?.max_payload ?? 1024 * 1024;
      if (hashed.manifest && JSON.stringify(event).length > limit - 4096) {
        return { kind: 'failed', reason: `its manifest of ${hashed.manifest.length} members does not fit in one message (max payload ${limit} bytes)` };
      }
      const published = await this.publishSoon(event);
      if (published !== true) return published;
      inventory.settle(path, entry);
      return { kind: 'announced', fileId };
    } finally {
      this.inFlight.delete(entry.sha256);
      release();
    }
  }

  /**
   * Publishes with the others ready in the same turn: the NATS client then writes them to
   * its socket together, one write for many events instead of one each.
   */
  private publishSoon(event: EventOf<'file.detected'>): Promise<true | Announced> {
    return new Promise((resolve) => {
      this.outbox.push({ event, resolve });
      if (this.outbox.length > 1) return;
      setImmediate(() => {
        const batch = this.outbox;
        this.outbox = [];
        for (const item of batch) {
          void this.publishing
            .run(() => this.publish(item.event))
            .then(item.resolve, (err: unknown) => item.resolve({ kind: 'failed', reason: errorMessage(err) }));
        }
      });
    });
  }

  private async publish(event: EventOf<'file.detected'>): Promise<true | Announced> {
    const attributes = { 'ferry.instrument': event.instrument, 'ferry.file.id': event.fileId, 'ferry.file.path': event.path, 'ferry.file.size': event.size };
    for (let attempt = 0; ; attempt++) {
      if (this.options.signal.aborted) return { kind: 'stopped' };
      try {
        await withSpan(this.tracer, 'file.detect', { kind: SpanKind.INTERNAL, attributes }, () => this.options.bus.publish('file.detected', event));
        return true;
      } catch (err) {
        if (isPermanent(err)) return { kind: 'failed', reason: errorMessage(err) };
        const delay = PUBLISH_BACKOFF_MS[Math.min(attempt, PUBLISH_BACKOFF_MS.length - 1)]!;
        this.options.logger.warn({ path: event.path, attempt: attempt + 1, delayMs: delay, err: errorMessage(err) }, 'publishing file.detected failed; will retry');
        try {
          await sleep(delay, undefined, { signal: this.options.signal });
        } catch {
          return { kind: 'stopped' };
        }
      }
    }
  }
}
