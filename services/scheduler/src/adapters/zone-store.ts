import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { classifyS3Error, createS3Client, localZonePath, type ZoneConfig } from '@ferry/common';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** One object as a listing shows it; `key` is the full key, zone prefix included. */
export interface ZoneObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** An unfinished multipart upload. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** What a download produced. */
export interface Downloaded {
  sha256: string;
  size: number;
  metadata: Record<string, string>;
}

/**
 * The scheduler's read-write view of a zone: backups, reports and clean-up. Keys are full
 * keys (zone prefix included; see {@link zoneKey}). A `local` zone keeps metadata in a
 * `<file>.meta.json` beside each file, as the uploader and gateway do.
 */
export interface ZoneStore {
  readonly zone: ZoneConfig;
  putFile(key: string, path: string, metadata: Record<string, string>): Promise<void>;
  putText(key: string, text: string, metadata?: Record<string, string>): Promise<void>;
  /** The object's text, or undefined when there is none. */
  getText(key: string): Promise<string | undefined>;
  head(key: string): Promise<{ size: number; metadata: Record<string, string> } | undefined>;
  /** Streams the object into `path`, hashing it on the way. */
  download(key: string, path: string): Promise<Downloaded>;
  /** Every object under `prefix`, a page at a time (at most 1000 per page). */
  list(prefix: string): AsyncIterable<ZoneObject[]>;
  /** Deletes up to 1000 keys in one request; returns the keys that could not be deleted, with why. */
  deleteMany(keys: readonly string[]): Promise<{ key: string; error: string }[]>;
  /** Unfinished multipart uploads; a `local` zone has none. */
  pendingUploads(prefix: string): AsyncIterable<PendingUpload[]>;
  abortUpload(upload: PendingUpload): Promise<void>;
  close(): void;
}

/** A key inside a zone: the zone's prefix, then `key`. */
export function zoneKey(zone: ZoneConfig, key: string): string {
  const prefix = zone.prefix.replace(/^\/+|\/+$/g, '');
  return prefix ? `${prefix}/${key}` : key;
}

/** Opens a zone for writing, listing and deleting. */
export function openZoneStore(zone: ZoneConfig, client?: S3Client): ZoneStore {
  return zone.kind === 'local' ? localStore(zone) : s3Store(zone, client ?? createS3Client(zone));
}

function hashing(): { transform: Transform; result: () => { sha256: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { transform, result: () => ({ sha256: hash.digest('hex'), size }) };
}

function isNotFound(err: unknown): boolean {
  return err instanceof NotFound || (err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey'));
}

function s3Store(zone: Extract<ZoneConfig, { kind: 's3' }>, s3: S3Client): ZoneStore {
  const Bucket = zone.bucket;
  const send = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      throw classifyS3Error(err);
    }
  };
  return {
    zone,
    async putFile(key, path, metadata) {
      // Multipart for large dumps, with a bounded memory footprint.
      const upload = new Upload({ client: s3, params: { Bucket, Key: key, Body: createReadStream(path), Metadata: metadata }, partSize: 16 * 1024 * 1024, queueSize: 2 });
      await send(upload.done());
    },
    async putText(key, text, metadata = {}) {
      await send(s3.send(new PutObjectCommand({ Bucket, Key: key, Body: text, ContentType: 'application/json', Metadata: metadata })));
    },
    async getText(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
        return await out.Body?.transformToString('utf8');
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw classifyS3Error(err);
      }
    },
    async head(key) {
      try {
        const out = await s3.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { size: out.ContentLength ?? 0, metadata: out.Metadata ?? {} };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw classifyS3Error(err);
      }
    },
    async download(key, path) {
      const out = await send(s3.send(new GetObjectCommand({ Bucket, Key: key })));
      const h = hashing();
      await pipeline(out.Body as Readable, h.transform, createWriteStream(path));
      return { ...h.result(), metadata: out.Metadata ?? {} };
    },
    async *list(prefix) {
      let token: string | undefined;
      do {
        const out = await send(s3.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token })));
        const page = (out.Contents ?? []).flatMap((o) => (o.Key ? [{ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) }] : []));
        if (page.length > 0) yield page;
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    },
    async deleteMany(keys) {
      if (keys.length === 0) return [];
      if (keys.length > 1000) throw new RangeError('DeleteObjects takes at most 1000 keys');
      const out = await send(s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } })));
      return (out.Errors ?? []).map((e) => ({ key: e.Key ?? '?', error: `${e.Code ?? 'error'}: ${e.Message ?? ''}` }));
    },
    async *pendingUploads(prefix) {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const out = await send(s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })));
        const page = (out.Uploads ?? []).flatMap((u) => (u.Key && u.UploadId ? [{ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) }] : []));
        if (page.length > 0) yield page;
        keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
        uploadIdMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
      } while (keyMarker);
    },
    async abortUpload(upload) {
      await send(s3.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.key, UploadId: upload.uploadId })));
    },
    close() {
      s3.destroy();
    },
  };
}

const META_SUFFIX = '.meta.json';

function localStore(zone: Extract<ZoneConfig, { kind: 'local' }>): ZoneStore {
  const pathOf = (key: string) => localZonePath(zone, key);
  const writeMeta = (key: string, metadata: Record<string, string>) => writeFile(`${pathOf(key)}${META_SUFFIX}`, JSON.stringify(metadata));
  const readMeta = async (key: string): Promise<Record<string, string>> => {
    try {
      return JSON.parse(await readFile(`${pathOf(key)}${META_SUFFIX}`, 'utf8')) as Record<string, string>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  };
  async function* walk(dir: string): AsyncGenerator<string> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) yield* walk(path);
      else if (entry.isFile() && !entry.name.endsWith(META_SUFFIX)) yield path;
    }
  }
  return {
    zone,
    async putFile(key, path, metadata) {
      await mkdir(dirname(pathOf(key)), { recursive: true });
      await pipeline(createReadStream(path), createWriteStream(pathOf(key)));
      await writeMeta(key, metadata);
    },
    async putText(key, text, metadata = {}) {
      await mkdir(dirname(pathOf(key)), { recursive: true });
      await writeFile(pathOf(key), text);
      await writeMeta(key, metadata);
    },
    async getText(key) {
      try {
        return await readFile(pathOf(key), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async head(key) {
      try {
        const info = await stat(pathOf(key));
        return { size: info.size, metadata: await readMeta(key) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async download(key, path) {
      const h = hashing();
      await pipeline(createReadStream(pathOf(key)), h.transform, createWriteStream(path));
      return { ...h.result(), metadata: await readMeta(key) };
    },
    async *list(prefix) {
      // Walk from the deepest folder the prefix names, then filter by the full prefix.
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      let page: ZoneObject[] = [];
      for await (const path of walk(join(zone.dir, folder))) {
        const key = relative(zone.dir, path).split(sep).join('/');
        if (!key.startsWith(prefix)) continue;
        const info = await stat(path).catch(() => undefined);
        if (!info) continue;
        page.push({ key, size: info.size, lastModified: info.mtime });
        if (page.length === 1000) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
    async deleteMany(keys) {
      const errors: { key: string; error: string }[] = [];
      for (const key of keys) {
        try {
          await rm(pathOf(key), { force: true });
          await rm(`${pathOf(key)}${META_SUFFIX}`, { force: true });
        } catch (err) {
          errors.push({ key, error: (err as Error).message });
        }
      }
      return errors;
    },
    // A folder has no multipart uploads.
    pendingUploads: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true as const, value: undefined }) }) }),
    abortUpload() {
      return Promise.resolve();
    },
    close() {
      // Nothing to release.
    },
  };
}
