import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListPartsCommand,
  NotFound,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3ZoneConfig } from '@ferry/common';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryResumeStore } from './resume-store.js';
import { S3ZoneWriter } from './s3-writer.js';
import { ContentChangedError, type StoreRequest } from './store-request.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const zone: S3ZoneConfig = { name: 'default', kind: 's3', region: 'us-east-1', bucket: 'b', prefix: '', forcePathStyle: true };

/** An S3 client that records commands and fails the parts it is told to. */
function fakeS3(options: { failParts?: Set<number>; failComplete?: boolean; listParts?: 'unsupported' | { n: number; etag: string; size: number }[] } = {}) {
  const commands: { name: string; input: Record<string, unknown> }[] = [];
  const client = {
    send(command: { input: Record<string, unknown> }) {
      const name = command.constructor.name;
      commands.push({ name, input: command.input });
      if (command instanceof HeadObjectCommand) return Promise.reject(new NotFound({ $metadata: { httpStatusCode: 404 }, message: 'not found' }));
      if (command instanceof CreateMultipartUploadCommand) return Promise.resolve({ UploadId: `u${commands.length}` });
      if (command instanceof UploadPartCommand) {
        const n = command.input.PartNumber ?? 0;
        if (options.failParts?.has(n)) {
          return Promise.reject(new S3ServiceException({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'injected' }));
        }
        return Promise.resolve({ ETag: `"etag-${n}-${sha(command.input.Body as Buffer).slice(0, 8)}"` });
      }
      if (command instanceof CompleteMultipartUploadCommand && options.failComplete) {
        return Promise.reject(new S3ServiceException({ name: 'InvalidPart', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'gone' }));
      }
      if (command instanceof ListPartsCommand) {
        if (options.listParts === 'unsupported' || !options.listParts) {
          return Promise.reject(new S3ServiceException({ name: 'MethodNotAllowed', $fault: 'client', $metadata: { httpStatusCode: 405 }, message: 'no' }));
        }
        return Promise.resolve({ Parts: options.listParts.map((p) => ({ PartNumber: p.n, ETag: p.etag, Size: p.size })) });
      }
      return Promise.resolve({});
    },
    destroy() {},
  };
  return { client: client as unknown as S3Client, commands, of: (name: string) => commands.filter((c) => c.name === name) };
}

describe('S3ZoneWriter requests', () => {
  let dir: string;
  let content: Buffer;
  let path: string;
  const request = (over: Partial<StoreRequest> = {}): StoreRequest => ({
    key: `sha256/${sha(content).slice(0, 2)}/${sha(content).slice(2, 4)}/${sha(content)}`,
    sourcePath: path,
    size: content.length,
    sha256: sha(content),
    metadata: { 'ferry-sha256': sha(content) },
    ...over,
  });
  const parts = () => [0, 1, 2, 3].map((i) => content.subarray(i * 5 * MiB, (i + 1) * 5 * MiB));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-s3w-'));
    content = randomBytes(18 * MiB);
    path = join(dir, 'file.raw');
    await writeFile(path, content);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sends per-part SHA-256 checksums and asks for them on create when the zone has checksums on', async () => {
    const s3 = fakeS3();
    const writer = new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 2, checksums: 'sha256', client: s3.client });
    await writer.store(request());
    expect(s3.of('CreateMultipartUploadCommand')[0]?.input).toMatchObject({ ChecksumAlgorithm: 'SHA256', Metadata: { 'ferry-sha256': sha(content) } });
    const sent = s3.of('UploadPartCommand').sort((a, b) => (a.input.PartNumber as number) - (b.input.PartNumber as number));
    expect(sent.map((c) => c.input.ChecksumSHA256)).toEqual(parts().map(b64));
    const completed = s3.of('CompleteMultipartUploadCommand')[0]?.input.MultipartUpload as { Parts: { PartNumber: number; ChecksumSHA256?: string }[] };
    expect(completed.Parts.map((p) => [p.PartNumber, p.ChecksumSHA256])).toEqual(parts().map((p, i) => [i + 1, b64(p)]));
  });

  it('sends no checksum fields when the zone has checksums off', async () => {
    const s3 = fakeS3();
    const writer = new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 2, checksums: 'none', client: s3.client });
    await writer.store(request());
    expect(s3.of('CreateMultipartUploadCommand')[0]?.input.ChecksumAlgorithm).toBeUndefined();
    expect(s3.of('UploadPartCommand').every((c) => c.input.ChecksumSHA256 === undefined)).toBe(true);
  });

  it('puts a small file in one request, with its checksum when on', async () => {
    const small = randomBytes(1000);
    await writeFile(join(dir, 'small.raw'), small);
    const s3 = fakeS3();
    const writer = new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 2, checksums: 'sha256', client: s3.client });
    await writer.store({ key: 'k', sourcePath: join(dir, 'small.raw'), size: small.length, sha256: sha(small), metadata: {} });
    expect(s3.of('PutObjectCommand')).toHaveLength(1);
    expect(s3.of('PutObjectCommand')[0]?.input).toMatchObject({ ChecksumSHA256: b64(small), ContentLength: 1000 });
    expect(s3.commands.map((c) => c.name)).toEqual(['HeadObjectCommand', PutObjectCommand.name]);
  });

  it('continues an interrupted upload: parts sent before are not sent again', async () => {
    const resume = memoryResumeStore();
    const first = fakeS3({ failParts: new Set([3]) });
    const w1 = new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'a', client: first.client });
    await expect(w1.store(request())).rejects.toThrow(/InternalError|injected/);
    expect(first.of('CompleteMultipartUploadCommand')).toHaveLength(0);
    const state = await resume.get('default', sha(content));
    expect(state?.state.owner).toBe('a');

    const second = fakeS3();
    // Another uploader may continue at once: the first handed the upload back when it failed.
    const w2 = new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'b', client: second.client });
    const result = await w2.store(request());
    expect(result).toEqual({ existed: false, resumedParts: 2 });
    expect(second.of('CreateMultipartUploadCommand')).toHaveLength(0);
    expect(second.of('UploadPartCommand').map((c) => c.input.PartNumber)).toEqual([3, 4]);
    const completed = second.of('CompleteMultipartUploadCommand')[0]?.input;
    expect(completed?.UploadId).toBe(state?.state.uploadId);
    expect((completed?.MultipartUpload as { Parts: unknown[] }).Parts).toHaveLength(4);
    expect(await resume.get('default', sha(content))).toBeUndefined();
  });

  it('sends again a recorded part the store does not list', async () => {
    const resume = memoryResumeStore();
    const first = fakeS3({ failParts: new Set([4]) });
    await new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'a', client: first.client }).store(request()).catch(() => undefined);
    const etags = first.of('UploadPartCommand').map((c) => c.input.PartNumber as number);
    expect(etags).toEqual([1, 2, 3, 4]);
    const listed = [1, 3].map((n) => ({ n, etag: `"etag-${n}-${sha(parts()[n - 1]!).slice(0, 8)}"`, size: 5 * MiB }));
    const second = fakeS3({ listParts: listed });
    await new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'a', client: second.client }).store(request());
    expect(second.of('UploadPartCommand').map((c) => c.input.PartNumber)).toEqual([2, 4]);
  });

  it('starts over when the store no longer has the parts of an interrupted upload', async () => {
    const resume = memoryResumeStore();
    await new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'a', client: fakeS3({ failParts: new Set([4]) }).client })
      .store(request())
      .catch(() => undefined);
    const lost = fakeS3({ failComplete: true });
    await expect(new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'a', client: lost.client }).store(request())).rejects.toThrow(
      /refused to assemble.*sends it again/,
    );
    expect(await resume.get('default', sha(content))).toBeUndefined();
    const fresh = fakeS3();
    await new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 1, resume, instance: 'a', client: fresh.client }).store(request());
    expect(fresh.of('CreateMultipartUploadCommand')).toHaveLength(1);
    expect(fresh.of('UploadPartCommand')).toHaveLength(4);
  });

  it('refuses to complete when the file no longer has the detected hash, and forgets the upload', async () => {
    const resume = memoryResumeStore();
    const s3 = fakeS3();
    const writer = new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 2, resume, client: s3.client });
    const wrong = 'f'.repeat(64);
    await expect(writer.store(request({ sha256: wrong }))).rejects.toBeInstanceOf(ContentChangedError);
    expect(s3.of('CompleteMultipartUploadCommand')).toHaveLength(0);
    expect(s3.of('AbortMultipartUploadCommand')).toHaveLength(1);
    expect(await resume.get('default', wrong)).toBeUndefined();
  });

  it('keeps memory bounded: never more parts in flight than the queue size', async () => {
    let inFlight = 0;
    let peak = 0;
    const s3 = fakeS3();
    const send = s3.client.send.bind(s3.client) as (c: unknown) => Promise<unknown>;
    (s3.client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (command) => {
      if (!(command instanceof UploadPartCommand)) return send(command);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return send(command);
    };
    await new S3ZoneWriter(zone, { partSizeBytes: 5 * MiB, queueSize: 2, client: s3.client }).store(request());
    expect(peak).toBe(2);
    expect(s3.of(CompleteMultipartUploadCommand.name)).toHaveLength(1);
  });
});
