import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { classifyS3Error, createS3Client, FerryError, isPermanent, openZoneReader, type S3ZoneConfig, type ZoneReader } from '@ferry/common';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { mayTakeOver, partSizeFor, reusableParts, type ListedPart, type RecordedPart, type UploadState } from '../domain/parts.js';
import { existing, readFull, sourceOf, UploadInterruptedError, verify, type StoreRequest, type StoreResult } from './store-request.js';
import type { PendingMultipart, WriterOptions, ZoneWriter } from './zone-writer.js';

type Header = Omit<UploadState, 'parts'>;

/** The store no longer has the parts the resume state lists (aborted or expired upload); the next try starts over. */
class UploadLostError extends FerryError {}

/** An S3 client for uploads: common's, with socket timeouts so a stalled connection becomes a retry. */
export function createUploadClient(zone: S3ZoneConfig, requestTimeoutMs = 120_000): S3Client {
  return createS3Client(zone, { requestTimeoutMs });
}

/** A one-line reason for an S3 or network failure, fit for `upload.failed`. */
export function describeStoreError(err: unknown): string {
  if (isPermanent(err) || !(err instanceof Error)) return err instanceof Error ? err.message : String(err);
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    const tries = err.$metadata.attempts;
    return `store error ${err.name}${status ? ` (HTTP ${status})` : ''}${tries ? ` after ${tries} tries` : ''}: ${err.message}`;
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code || err.name === 'TimeoutError') return `connection to the store failed (${code ?? err.name}): ${err.message}`;
  return err.message;
}

/**
 * Sets the SigV4 payload hash to the part's SHA-256, which the uploader computes anyway:
 * the SDK then does not hash the body a second time, and S3 rejects a part whose bytes
 * do not match it (XAmzContentSHA256Mismatch), so every part is verified in transit.
 */
function withPayloadHash<C extends UploadPartCommand | PutObjectCommand>(command: C, sha256Hex: string): C {
  (command as UploadPartCommand).middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = sha256Hex;
      return next(args);
    },
    { step: 'build', name: 'ferryPayloadHash' },
  );
  return command;
}

const statusOf = (err: unknown) => (err instanceof S3ServiceException ? (err.$metadata.httpStatusCode ?? 0) : 0);
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** The store cannot do what was asked (s3rver has no ListParts or ListMultipartUploads). */
function unsupported(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NotImplemented' || err.name === 'MethodNotAllowed' || statusOf(err) === 501 || statusOf(err) === 405);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Writes into an S3-compatible bucket. Small files go in one PUT; larger ones in parts
 * read once from disk into a fixed pool of buffers (memory ≈ part size × (queue + 1)),
 * hashed as they are read, and completed only when the whole-file hash matches. Sent
 * parts are recorded in the resume store, so a later try sends only what is missing.
 */
export class S3ZoneWriter implements ZoneWriter {
  private readonly s3: S3Client;
  private readonly reader: ZoneReader;
  /** One store per content address at a time in this process; the second finds the first's object. */
  private readonly busy = new Map<string, Promise<StoreResult>>();

  constructor(
    readonly zone: S3ZoneConfig,
    private readonly options: WriterOptions,
  ) {
    this.s3 = options.client ?? createUploadClient(zone, options.requestTimeoutMs);
    this.reader = openZoneReader(zone, this.s3);
  }

  private get owner(): string {
    return this.options.instance ?? 'uploader';
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 120_000;
  }

  store(req: StoreRequest): Promise<StoreResult> {
    const previous = this.busy.get(req.key) ?? Promise.resolve(undefined);
    const run = previous.catch(() => undefined).then(() => this.storeNow(req));
    this.busy.set(req.key, run);
    run
      .finally(() => {
        if (this.busy.get(req.key) === run) this.busy.delete(req.key);
      })
      .catch(() => undefined);
    return run;
  }

  private async storeNow(req: StoreRequest): Promise<StoreResult> {
    const found = await existing(this.reader, req);
    if (found) return found;
    if (req.body) {
      verify(req, createHash('sha256').update(req.body).digest('hex'), req.body.length);
      await this.putSingle(req, req.body);
      return { existed: false };
    }
    const handle = await open(sourceOf(req), 'r');
    try {
      if (req.size <= this.options.partSizeBytes) {
        // One byte more than expected tells a file that grew from one that did not.
        const buffer = Buffer.allocUnsafe(req.size + 1);
        const body = buffer.subarray(0, await readFull(handle, buffer));
        verify(req, createHash('sha256').update(body).digest('hex'), body.length);
        await this.putSingle(req, body);
        return { existed: false };
      }
      return await this.putMultipart(handle, req);
    } finally {
      await handle.close();
    }
  }

  private async putSingle(req: StoreRequest, body: Buffer): Promise<void> {
    await this.options.bandwidth?.take(body.length);
    const command = new PutObjectCommand({
      Bucket: this.zone.bucket,
      Key: req.key,
      Body: body,
      ContentLength: body.length,
      Metadata: req.metadata,
      ...(this.options.checksums === 'sha256' ? { ChecksumSHA256: b64(req.sha256) } : {}),
    });
    try {
      await this.s3.send(withPayloadHash(command, req.sha256));
    } catch (err) {
      throw classifyS3Error(err);
    }
    req.onProgress?.(body.length);
  }

  /**
   * Finds the interrupted upload of this content to continue, or starts one. When another
   * uploader holds a fresh lease on it, waits for that one to finish instead of sending
   * the same bytes twice.
   */
  private async begin(req: StoreRequest): Promise<{ header: Header; reusable: Map<number, RecordedPart> } | StoreResult> {
    const resume = this.options.resume;
    const zone = this.zone.name;
    for (;;) {
      const stored = await resume?.get(zone, req.sha256);
      if (resume && stored) {
        const now = Date.now();
        if (stored.state.key !== req.key || stored.state.size !== req.size) {
          await resume.remove(zone, req.sha256);
          continue;
        }
        if (!mayTakeOver(stored.state, this.owner, now, this.leaseMs)) {
          await sleep(Math.min(5000, this.leaseMs / 4), req.signal);
          if (req.signal?.aborted) throw new UploadInterruptedError('stopping while another uploader sends the same content');
          const found = await existing(this.reader, req);
          if (found) return found;
          continue;
        }
        const listed = await this.listParts(stored.state);
        if (listed === 'gone') {
          await resume.remove(zone, req.sha256);
          continue;
        }
        const header: Header = { ...stored.state, owner: this.owner, updatedAt: new Date(now).toISOString() };
        if (!(await resume.claim(zone, req.sha256, header, stored.revision))) continue;
        const recorded = await resume.parts(zone, req.sha256, header.uploadId);
        return { header, reusable: reusableParts(recorded, listed) };
      }
      const created = await this.s3
        .send(
          new CreateMultipartUploadCommand({
            Bucket: this.zone.bucket,
            Key: req.key,
            Metadata: req.metadata,
            ...(this.options.checksums === 'sha256' ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
          }),
        )
        .catch((err: unknown) => {
          throw classifyS3Error(err);
        });
      if (!created.UploadId) throw new FerryError('the store returned no upload id');
      const now = new Date().toISOString();
      const header: Header = {
        v: 1,
        key: req.key,
        uploadId: created.UploadId,
        size: req.size,
        partSize: partSizeFor(req.size, this.options.partSizeBytes),
        owner: this.owner,
        startedAt: now,
        updatedAt: now,
      };
      if (!resume || (await resume.claim(zone, req.sha256, header, undefined))) return { header, reusable: new Map() };
      // Another uploader started the same content at the same moment: leave it to them.
      await this.abort(req.key, created.UploadId);
    }
  }

  private async putMultipart(handle: FileHandle, req: StoreRequest): Promise<StoreResult> {
    const begun = await this.begin(req);
    if (!('header' in begun)) return begun;
    const { header, reusable } = begun;
    const { uploadId, partSize } = header;
    const resume = this.options.resume;
    const zone = this.zone.name;
    // The lease is renewed while parts flow; each renewal is awaited before the state is
    // removed or released, so a late one cannot bring a finished upload back.
    let renewing: Promise<unknown> = Promise.resolve();
    const lease = setInterval(() => {
      renewing = renewing.then(() => resume?.renew(zone, req.sha256, { ...header, updatedAt: new Date().toISOString() })).catch(() => undefined);
    }, Math.max(1000, this.leaseMs / 3));
    lease.unref();
    const endLease = async () => {
      clearInterval(lease);
      await renewing;
    };

    const sent = new Map<number, RecordedPart>();
    const pool: Buffer[] = [];
    const inFlight = new Set<Promise<void>>();
    const whole = createHash('sha256');
    let failure: { err: unknown } | undefined;
    let interrupted = false;
    let total = 0;
    let done = 0;
    let partCount = 0;
    let resumedParts = 0;
    try {
      for (let n = 1; ; n++) {
        while (inFlight.size >= this.options.queueSize) await Promise.race(inFlight);
        if (failure) break;
        if (req.signal?.aborted) {
          interrupted = true;
          break;
        }
        const buffer = pool.pop() ?? Buffer.allocUnsafe(partSize);
        const read = await readFull(handle, buffer);
        if (read === 0) {
          pool.push(buffer);
          break;
        }
        partCount = n;
        const body = buffer.subarray(0, read);
        whole.update(body);
        total += read;
        if (total > req.size) {
          pool.push(buffer);
          break; // the file grew: the hash check below refuses it
        }
        const hex = createHash('sha256').update(body).digest('hex');
        const known = reusable.get(n);
        if (known && known.size === read && known.sha256 === hex) {
          // Sent by an earlier try, and the bytes on disk are still the ones it sent.
          sent.set(n, known);
          resumedParts++;
          done += read;
          req.onProgress?.(done);
          pool.push(buffer);
        } else {
          const part: Promise<void> = this.sendPart(req, header, n, body, hex)
            .then(async (recorded) => {
              sent.set(n, recorded);
              done += read;
              req.onProgress?.(done);
              // Losing this record only costs re-sending the part after a crash.
              await resume?.addPart(zone, req.sha256, uploadId, recorded).catch(() => undefined);
            })
            .catch((err: unknown) => {
              failure ??= { err };
            })
            .finally(() => {
              pool.push(buffer);
              inFlight.delete(part);
            });
          inFlight.add(part);
        }
        if (read < partSize) break;
      }
      await Promise.all(inFlight);
      if (failure) throw failure.err;
      if (interrupted) throw new UploadInterruptedError(`stopped after ${sent.size} parts of ${req.key}; the next try continues from there`);
      // A mismatch is permanent: the catch below aborts the upload and forgets it.
      verify(req, whole.digest('hex'), total);
      await this.complete(req, header, [...sent.values()], partCount);
      await endLease();
      await resume?.remove(zone, req.sha256).catch(() => undefined);
      return { existed: false, resumedParts };
    } catch (err) {
      await endLease();
      if (err instanceof UploadLostError) {
        await resume?.remove(zone, req.sha256).catch(() => undefined);
      } else if (isPermanent(err) || isPermanent(classifyS3Error(err))) {
        await this.abort(req.key, uploadId);
        await resume?.remove(zone, req.sha256).catch(() => undefined);
      } else {
        // Hand the upload over at once: whichever uploader gets the file next continues it.
        await resume?.renew(zone, req.sha256, { ...header, updatedAt: new Date(0).toISOString() }).catch(() => undefined);
      }
      throw classifyS3Error(err);
    }
  }

  private async sendPart(req: StoreRequest, header: Header, n: number, body: Buffer, hex: string): Promise<RecordedPart> {
    await this.options.bandwidth?.take(body.length);
    const command = new UploadPartCommand({
      Bucket: this.zone.bucket,
      Key: req.key,
      UploadId: header.uploadId,
      PartNumber: n,
      Body: body,
      ContentLength: body.length,
      ...(this.options.checksums === 'sha256' ? { ChecksumSHA256: b64(hex) } : {}),
    });
    const out = await this.s3.send(withPayloadHash(command, hex));
    if (!out.ETag) throw new FerryError(`the store returned no ETag for part ${n}`);
    return { n, etag: out.ETag, size: body.length, sha256: hex };
  }

  private async complete(req: StoreRequest, header: Header, parts: RecordedPart[], partCount: number): Promise<void> {
    parts.sort((a, b) => a.n - b.n);
    if (parts.length !== partCount || parts.some((p, i) => p.n !== i + 1)) {
      throw new FerryError(`internal error: ${parts.length} of ${partCount} parts recorded for ${req.key}`);
    }
    const completed: CompletedPart[] = parts.map((p) => ({
      PartNumber: p.n,
      ETag: p.etag,
      ...(this.options.checksums === 'sha256' ? { ChecksumSHA256: b64(p.sha256) } : {}),
    }));
    try {
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.zone.bucket, Key: req.key, UploadId: header.uploadId, MultipartUpload: { Parts: completed } }));
    } catch (err) {
      const status = statusOf(err);
      if (status === 400 || status === 404) {
        // The store no longer has what the resume state says it has (aborted, expired): start over.
        throw new UploadLostError(`the store refused to assemble ${req.key} (${(err as Error).name}); the next try sends it again`, { cause: err });
      }
      throw err;
    }
  }

  /** The parts the store holds for an upload; undefined when it cannot tell, 'gone' when the upload no longer exists. */
  private async listParts(state: Header): Promise<ListedPart[] | undefined | 'gone'> {
    const parts: ListedPart[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const out = await this.s3.send(new ListPartsCommand({ Bucket: this.zone.bucket, Key: state.key, UploadId: state.uploadId, PartNumberMarker: marker }));
        for (const p of out.Parts ?? []) parts.push({ n: p.PartNumber ?? 0, etag: p.ETag ?? '', size: p.Size ?? 0 });
        if (!out.IsTruncated || !out.NextPartNumberMarker) return parts;
        marker = out.NextPartNumberMarker;
      }
    } catch (err) {
      if (unsupported(err)) return undefined;
      if (err instanceof S3ServiceException && (err.name === 'NoSuchUpload' || statusOf(err) === 404)) return 'gone';
      throw classifyS3Error(err);
    }
  }

  private async abort(key: string, uploadId: string): Promise<void> {
    // Best effort: s3rver cannot abort, and the sweeper catches whatever is left.
    await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.zone.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }

  async listPending(): Promise<PendingMultipart[] | undefined> {
    const out: PendingMultipart[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    const prefix = this.zone.prefix.replace(/^\/+|\/+$/g, '');
    try {
      for (;;) {
        const page = await this.s3.send(
          new ListMultipartUploadsCommand({ Bucket: this.zone.bucket, Prefix: prefix ? `${prefix}/` : undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key && u.UploadId && u.Initiated) out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
        }
        if (!page.IsTruncated) return out;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (err) {
      if (unsupported(err)) return undefined;
      throw classifyS3Error(err);
    }
  }

  async abortPending(key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.zone.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'NoSuchUpload') return;
      throw classifyS3Error(err);
    }
  }

  close(): void {
    this.s3.destroy();
  }
}
