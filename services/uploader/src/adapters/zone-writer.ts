import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  classifyS3Error,
  createS3Client,
  localZonePath,
  META,
  openZoneReader,
  PermanentError,
  type LocalZoneConfig,
  type S3ZoneConfig,
  type ZoneConfig,
  type ZoneReader,
} from '@ferry/common';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One acquisition to store under its content address. */
export interface StoreRequest {
  key: string;
  sourcePath: string;
  size: number;
  sha256: string;
  metadata: Record<string, string>;
  /** Called with the bytes read and sent so far. */
  onProgress?: (bytes: number) => void;
}

/** How a store ended. */
export interface StoreResult {
  /** The content was already there; nothing was sent. */
  existed: boolean;
}

/** The file's bytes are no longer what the watcher hashed: never stored under the old address. */
export class ContentChangedError extends PermanentError {}

/** The content address holds an object of another size or hash: an alert, never an overwrite. */
export class ContentConflictError extends PermanentError {}

/** Writes content-addressed objects into one zone. */
export interface ZoneWriter {
  readonly zone: ZoneConfig;
  store(request: StoreRequest): Promise<StoreResult>;
  close(): void;
}

/** Options for {@link openZoneWriter}. */
export interface WriterOptions {
  partSizeBytes: number;
  queueSize: number;
  client?: S3Client;
}

/** Opens the write side of a zone. */
export function openZoneWriter(zone: ZoneConfig, options: WriterOptions): ZoneWriter {
  if (zone.kind === 'local') return new LocalZoneWriter(zone);
  return new S3ZoneWriter(zone, options);
}

async function existing(reader: ZoneReader, req: StoreRequest): Promise<StoreResult | undefined> {
  const found = await reader.head(req.key);
  if (!found) return undefined;
  if (found.size === req.size && (found.sha256 === undefined || found.sha256 === req.sha256)) return { existed: true };
  throw new ContentConflictError(
    `${req.key} already exists with size ${found.size} and hash ${found.sha256 ?? 'unknown'}, expected size ${req.size}; not overwritten`,
  );
}

function verify(req: StoreRequest, sha256: string, size: number): void {
  if (sha256 !== req.sha256 || size !== req.size) {
    throw new ContentChangedError(
      `file changed since it was detected: read ${size} bytes with hash ${sha256.slice(0, 12)}…, expected ${req.size} bytes with hash ${req.sha256.slice(0, 12)}…`,
    );
  }
}

/** Reads until `buffer` is full or the file ends; returns the bytes read. */
async function readFull(handle: FileHandle, buffer: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

class S3ZoneWriter implements ZoneWriter {
  private readonly s3: S3Client;
  private readonly reader: ZoneReader;

  constructor(
    readonly zone: S3ZoneConfig,
    private readonly options: WriterOptions,
  ) {
    this.s3 = options.client ?? createS3Client(zone);
    this.reader = openZoneReader(zone, this.s3);
  }

  async store(req: StoreRequest): Promise<StoreResult> {
    const found = await existing(this.reader, req);
    if (found) return found;
    const handle = await open(req.sourcePath, 'r');
    try {
      // One read of the source: bytes are hashed as they are read for sending, and
      // nothing is committed under the content address until the hash matched.
      if (req.size <= this.options.partSizeBytes) await this.putSingle(handle, req);
      else await this.putMultipart(handle, req);
      return { existed: false };
    } finally {
      await handle.close();
    }
  }

  private async putSingle(handle: FileHandle, req: StoreRequest): Promise<void> {
    // One byte more than expected tells a file that grew from one that did not.
    const buffer = Buffer.allocUnsafe(req.size + 1);
    const read = await readFull(handle, buffer);
    const body = buffer.subarray(0, read);
    verify(req, createHash('sha256').update(body).digest('hex'), read);
    try {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.zone.bucket, Key: req.key, Body: body, ContentLength: read, Metadata: req.metadata }),
      );
    } catch (err) {
      throw classifyS3Error(err);
    }
    req.onProgress?.(read);
  }

  private async putMultipart(handle: FileHandle, req: StoreRequest): Promise<void> {
    const { bucket } = this.zone;
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    try {
      const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: req.key, Metadata: req.metadata }));
      uploadId = created.UploadId;
      if (!uploadId) throw new Error('the store returned no upload id');
      const hash = createHash('sha256');
      let total = 0;
      let sent = 0;
      for (let partNumber = 1; ; partNumber++) {
        while (inFlight.size >= this.options.queueSize) await Promise.race(inFlight);
        const buffer = Buffer.allocUnsafe(this.options.partSizeBytes);
        const read = await readFull(handle, buffer);
        if (read === 0) break;
        const body = buffer.subarray(0, read);
        hash.update(body);
        total += read;
        const upload = this.s3
          .send(new UploadPartCommand({ Bucket: bucket, Key: req.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: read }))
          .then((out) => {
            parts.push({ PartNumber: partNumber, ETag: out.ETag });
            sent += read;
            req.onProgress?.(sent);
          });
        // A rejected part surfaces through Promise.race/all below; this only stops it being "unhandled".
        upload.catch(() => undefined);
        const tracked: Promise<void> = upload.finally(() => inFlight.delete(tracked));
        tracked.catch(() => undefined);
        inFlight.add(tracked);
        if (read < buffer.length) break;
        if (total > req.size) break;
      }
      await Promise.all(inFlight);
      verify(req, hash.digest('hex'), total);
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: req.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (uploadId) {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: req.key, UploadId: uploadId })).catch(() => undefined);
      }
      throw classifyS3Error(err);
    }
  }

  close(): void {
    this.s3.destroy();
  }
}

class LocalZoneWriter implements ZoneWriter {
  private readonly reader: ZoneReader;

  constructor(readonly zone: LocalZoneConfig) {
    this.reader = openZoneReader(zone);
  }

  async store(req: StoreRequest): Promise<StoreResult> {
    const found = await existing(this.reader, req);
    if (found) return found;
    const dest = localZonePath(this.zone, req.key);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
    const source = await open(req.sourcePath, 'r');
    const target = await open(tmp, 'wx', 0o640);
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
      let total = 0;
      for (;;) {
        const read = await readFull(source, buffer);
        if (read === 0) break;
        const chunk = buffer.subarray(0, read);
        hash.update(chunk);
        await target.write(chunk);
        total += read;
        req.onProgress?.(total);
        if (read < buffer.length || total > req.size) break;
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
      await source.close();
    }
  }

  close(): void {}
}
