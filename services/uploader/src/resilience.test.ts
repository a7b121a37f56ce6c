import { contentKey } from '@ferry/common';
import { waitFor } from '@ferry/testkit';
import { Kvm } from '@nats-io/kv';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openKvResumeStore, resumeBucketName } from './adapters/resume-store.js';
import { harness, type Harness, type HarnessOptions } from './testing/harness.js';

const MiB = 1024 * 1024;

describe('uploader resilience', () => {
  const open: Harness[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const h of open.splice(0)) await h.close();
  });
  const setup = async (options: HarnessOptions) => {
    const h = await harness(options);
    open.push(h);
    return h;
  };

  it('stores once when the store answers 500 twice and then succeeds', async () => {
    let failures = 0;
    const h = await setup({ proxy: (req) => ((req.op === 'PutObject' || req.op === 'UploadPart') && failures < 2 ? (failures++, { fail: 500 }) : undefined) });
    const small = randomBytes(4000);
    const event = await h.detect('small.raw', small);
    expect((await h.outcome(event.fileId)).name).toBe('upload.done');
    const puts = h.proxy!.requests.filter((r) => r.op === 'PutObject');
    expect(puts.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(await h.objectBytes(contentKey(event.sha256))).toEqual(small);

    failures = 0;
    const large = randomBytes(12 * MiB);
    const multi = await h.detect('large.raw', large);
    expect((await h.outcome(multi.fileId)).name).toBe('upload.done');
    expect(h.proxy!.requests.filter((r) => r.op === 'UploadPart' && r.status === 500)).toHaveLength(2);
    expect(h.proxy!.succeeded('UploadPart')).toHaveLength(3);
    expect(h.proxy!.succeeded('CompleteMultipartUpload')).toHaveLength(1);
    expect((await h.objectBytes(contentKey(multi.sha256))).equals(large)).toBe(true);
    // The SDK's own retries absorbed both errors: no try failed as a whole.
    expect(h.events.filter((e) => e.name === 'upload.failed')).toHaveLength(0);
    // Each part is signed with the hash the uploader computed, which S3 checks against the bytes.
    for (const part of h.proxy!.succeeded('UploadPart')) expect(part.headers['x-amz-content-sha256']).toBe(part.bodySha256);
  });

  it('fails for good with the store error after the last try when the store keeps failing', async () => {
    const h = await setup({ proxy: (req) => (req.op === 'PutObject' ? { fail: 503, code: 'SlowDown' } : undefined), env: { UPLOAD_ATTEMPTS: '2' } });
    const event = await h.detect('doomed.raw', randomBytes(100));
    const failed = await h.outcome(event.fileId, 60_000);
    expect(failed).toMatchObject({ name: 'upload.failed', event: { final: true, attempt: 2 } });
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/store error SlowDown \(HTTP 503\) after 3 tries/);
    expect(h.events.filter((e) => e.name === 'upload.failed').map((e) => e.name === 'upload.failed' && e.event.final)).toEqual([false, true]);
    expect(await h.exists(contentKey(event.sha256))).toBe(false);
  });

  it('does not store a file rewritten during its upload under the old hash', async () => {
    let rewritten = false;
    let file = '';
    const h = await setup({
      env: { UPLOAD_QUEUE_SIZE: '1' },
      proxy: (req) => {
        if (req.op === 'UploadPart' && !rewritten) {
          // The instrument rewrites the end of the file while the first part is on its way.
          rewritten = true;
          const fd = openSync(file, 'r+');
          writeSync(fd, randomBytes(MiB), 0, MiB, 29 * MiB);
          closeSync(fd);
        }
        return undefined;
      },
    });
    file = join(h.dir, 'rewritten.raw');
    const event = await h.detect('rewritten.raw', randomBytes(30 * MiB));
    const failed = await h.outcome(event.fileId);
    expect(rewritten).toBe(true);
    expect(failed).toMatchObject({ name: 'upload.failed', event: { final: true } });
    expect(failed.name === 'upload.failed' && failed.event.error).toMatch(/changed since it was detected/);
    expect(h.proxy!.requests.filter((r) => r.op === 'CompleteMultipartUpload')).toHaveLength(0);
    expect(await h.exists(contentKey(event.sha256))).toBe(false);
  });

  it('two uploaders share 200 files through one durable consumer: each is stored once', async () => {
    const h = await setup({ proxy: true, uploaders: 2, env: { UPLOAD_CONCURRENCY: '4' } });
    const events = [];
    for (let i = 0; i < 200; i++) events.push(await h.detect(`many/f${i}.raw`, randomBytes(512 + i)));
    await waitFor('200 uploads done', () => new Set(h.events.filter((e) => e.name === 'upload.done').map((e) => e.name === 'upload.done' && e.event.fileId)).size === 200, {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    const puts = new Map<string, number>();
    for (const r of h.proxy!.succeeded('PutObject')) puts.set(r.path, (puts.get(r.path) ?? 0) + 1);
    for (const e of events) expect(puts.get(`/${h.iso.bucket}/${contentKey(e.sha256)}`)).toBe(1);
    expect(puts.size).toBe(200);
    const [a, b] = h.uploaders.map((u) => u.stats().stored);
    expect((a ?? 0) + (b ?? 0)).toBe(200);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  }, 120_000);

  it('resumes a multipart upload after the uploader is killed: fewer parts sent, same bytes stored', async () => {
    const h = await setup({
      uploaders: 0,
      // Slow parts, so the kill lands in the middle of the upload.
      proxy: (req) => (req.op === 'UploadPart' ? { delayMs: 300 } : undefined),
      env: { UPLOAD_QUEUE_SIZE: '1', UPLOAD_ACK_WAIT: '3s', FERRY_INSTANCE: 'worker-1', UPLOAD_SWEEP_INTERVAL: '0' },
    });
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const run = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, ...h.env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code, signal) => {
        if (code !== null && code !== 0) console.error(`uploader child exited ${code}: ${stderr}`);
        void signal;
      });
      children.push(child);
      return child;
    };
    const content = randomBytes(40 * MiB); // 8 parts of 5 MiB
    const totalParts = 8;
    const first = run();
    const event = await h.detect('big.raw', content);
    const kv = await new Kvm(h.bus.nc).open(resumeBucketName(h.iso.natsPrefix));
    const recordedParts = async () => {
      let n = 0;
      for await (const key of await kv.keys(`default.${event.sha256}.*.*`)) n += key ? 1 : 0;
      return n;
    };
    await waitFor('three parts recorded', async () => (await recordedParts()) >= 3, { timeoutMs: 60_000, intervalMs: 50 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(h.events.some((e) => e.name === 'upload.done')).toBe(false);
    const mark = h.proxy!.requests.length;

    run();
    const done = await h.outcome(event.fileId, 90_000);
    expect(done.name).toBe('upload.done');
    const after = h.proxy!.requests.slice(mark);
    const partsAfterRestart = after.filter((r) => r.op === 'UploadPart' && r.status === 200).length;
    expect(after.filter((r) => r.op === 'CreateMultipartUpload')).toHaveLength(0);
    expect(partsAfterRestart).toBeGreaterThan(0);
    expect(partsAfterRestart).toBeLessThanOrEqual(totalParts - 3);
    expect((await h.objectBytes(contentKey(event.sha256))).equals(content)).toBe(true);
  }, 120_000);

  it('keeps resume state in NATS KV with compare-and-set claims', async () => {
    const h = await setup({ uploaders: 0 });
    const store = await openKvResumeStore(h.bus, { ttlMs: 86_400_000 });
    const sha = 'a'.repeat(64);
    const header = { v: 1 as const, key: 'k', uploadId: 'up/1+=', size: 10, partSize: 5, owner: 'one', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
    expect(await store.claim('default', sha, header, undefined)).toBe(true);
    expect(await store.claim('default', sha, { ...header, owner: 'two' }, undefined)).toBe(false);
    const read = await store.get('default', sha);
    expect(read?.state.owner).toBe('one');
    expect(await store.claim('default', sha, { ...header, owner: 'two' }, read!.revision)).toBe(true);
    expect(await store.claim('default', sha, { ...header, owner: 'three' }, read!.revision)).toBe(false);
    await store.addPart('default', sha, header.uploadId, { n: 2, etag: '"b"', size: 5, sha256: 'y' });
    await store.addPart('default', sha, header.uploadId, { n: 1, etag: '"a"', size: 5, sha256: 'x' });
    expect((await store.parts('default', sha, header.uploadId)).map((p) => p.n)).toEqual([1, 2]);
    expect(await store.parts('default', sha, 'another-upload')).toEqual([]);
    expect((await store.list('default')).map((s) => s.owner)).toEqual(['two']);
    await store.remove('default', sha);
    expect(await store.get('default', sha)).toBeUndefined();
    expect(await store.list('default')).toEqual([]);
  });

  it('sweeps a store that cannot list multipart uploads without failing', async () => {
    const h = await setup({});
    expect(await h.uploaders[0]!.sweep()).toEqual([{ zone: 'default', listed: false, pending: 0, aborted: [] }]);
  });
});
