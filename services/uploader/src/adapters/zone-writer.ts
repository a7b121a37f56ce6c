import { localZonePath, META, openZoneReader, type LocalZoneConfig, type ZoneConfig, type ZoneReader } from '@ferry/common';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TokenBucket } from '../domain/limits.js';
import type { ResumeStore } from './resume-store.js';
import { S3ZoneWriter } from './s3-writer.js';
import { existing, readFull, sourceOf, UploadInterruptedError, verify, type StoreRequest, type StoreResult } from './store-request.js';

export { ContentChangedError, ContentConflictError, UploadInterruptedError, type StoreRequest, type StoreResult } from './store-request.js';

/** A multipart upload waiting in a store, for the sweeper. */
export interface PendingMultipart {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Writes content-addressed objects into one zone. */
export interface ZoneWriter {
  readonly zone: ZoneConfig;
  store(request: StoreRequest): Promise<StoreResult>;
  close(): void;
  /** Multipart uploads in the zone's bucket (S3 zones only); undefined when the store cannot list them. */
  listPending?(): Promise<PendingMultipart[] | undefined>;
  abortPending?(key: string, uploadId: string): Promise<void>;
}

/** Options for {@link openZoneWriter}. */
export interface WriterOptions {
  partSizeBytes: number;
  queueSize: number;
  /** Per-part checksums the store verifies (`x-amz-checksum-sha256`). */
  checksums?: 'sha256' | 'none';
  /** Shared bandwidth budget of the zone. */
  bandwidth?: TokenBucket;
  /** Where interrupted multipart uploads are remembered; without it nothing resumes. */
  resume?: ResumeStore;
  /** This uploader's name, the owner of its uploads' leases. */
  instance?: string;
  /** How long an upload's owner may stay silent before another uploader takes it over. */
  leaseMs?: number;
  requestTimeoutMs?: number;
  /** An S3 client to use instead of one built from the zone (tests). */
  client?: S3Client;
}

/** Opens the write side of a zone. */
export function openZoneWriter(zone: ZoneConfig, options: WriterOptions): ZoneWriter {
  if (zone.kind === 'local') return new LocalZoneWriter(zone, options.bandwidth);
  return new S3ZoneWriter(zone, options);
}

/** A folder (a mounted backup pool): written to a temporary name, fsynced, then renamed. */
class LocalZoneWriter implements ZoneWriter {
  private readonly reader: ZoneReader;

  constructor(
    readonly zone: LocalZoneConfig,
    private readonly bandwidth?: TokenBucket,
  ) {
    this.reader = openZoneReader(zone);
  }

  async store(req: StoreRequest): Promise<StoreResult> {
    const found = await existing(this.reader, req);
    if (found) return found;
    const dest = localZonePath(this.zone, req.key);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
    const source = req.body ? undefined : await open(sourceOf(req), 'r');
    const target = await open(tmp, 'wx', 0o640);
    try {
      const hash = createHash('sha256');
      let total = 0;
      if (req.body) {
        hash.update(req.body);
        await target.write(req.body);
        total = req.body.length;
      } else if (source) {
        const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
        for (;;) {
          if (req.signal?.aborted) throw new UploadInterruptedError('stopping: the copy will start again on the next try');
          const read = await readFull(source, buffer);
          if (read === 0) break;
          const chunk = buffer.subarray(0, read);
          hash.update(chunk);
          await this.bandwidth?.take(read);
          await target.write(chunk);
          total += read;
          req.onProgress?.(total);
          if (read < buffer.length || total > req.size) break;
        }
      }
      verify(req, hash.digest('hex'), total);
      await target.sync();
      await target.close();
      // Metadata first: whoever sees the object also finds its hash.
      await writeFile(`${dest}.meta.json`, JSON.stringify({ ...req.metadata, [META.size]: String(req.size) }));
      await rename(tmp, dest);
      const dir = await open(dirname(dest), 'r');
      await dir.sync().finally(() => dir.close());
      return { existed: false };
    } catch (err) {
      await target.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    } finally {
      await source?.close();
    }
  }

  close(): void {}
}

