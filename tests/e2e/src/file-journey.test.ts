import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Bus, createS3Client, fileIdFor } from '@ferry/common';
import { createApiToken } from '@ferry/gateway';
import { testLogger, waitFor } from '@ferry/testkit';
import { sql } from 'kysely';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spans, startSystem, type System } from './system.js';

const MiB = 1024 * 1024;
const WINDOW_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Written {
  name: string;
  size: number;
  sha256: string;
  lastWriteAt: number;
}

interface ApiFile {
  id: string;
  path: string;
  size: number;
  sha256: string;
  status: string;
  key: string | null;
  detectedAt: string;
  traceId: string | null;
}

/** 50 sizes from 1 byte to 64 MiB, about 220 MiB in all. */
function sizes(): number[] {
  const fixed = [1, 2, 17, 512, 4096, 65_536, MiB - 1, MiB, 5 * MiB, 8 * MiB + 1, 16 * MiB, 64 * MiB, 64 * MiB];
  const out = [...fixed];
  for (let i = out.length; i < 50; i++) out.push(i % 3 === 0 ? 1 + ((i * 7919) % (3 * MiB)) : 1 + ((i * 104_729) % 200_000));
  return out;
}

/** Writes a file in one go, or slowly in several writes with pauses shorter than the window. */
async function writeAcquisition(dir: string, name: string, size: number, slow: boolean): Promise<Written> {
  const content = randomBytes(size);
  const path = join(dir, name);
  if (!slow) {
    await writeFile(path, content);
  } else {
    const pieces = 4;
    const step = Math.ceil(size / pieces);
    for (let at = 0; at < size; at += step) {
      await appendFile(path, content.subarray(at, Math.min(size, at + step)));
      if (at + step < size) await sleep(WINDOW_MS / 3);
    }
  }
  return { name, size, sha256: createHash('sha256').update(content).digest('hex'), lastWriteAt: Date.now() };
}

describe('one file after another, from the instrument folder to storage and the API', () => {
  let system: System;
  const written: Written[] = [];

  beforeAll(async () => {
    system = await startSystem({
      WATCH_STABLE: `${WINDOW_MS}ms`,
      WATCH_POLL_INTERVAL: '200ms',
      UPLOAD_PART_SIZE_MB: '8',
      UPLOAD_CONCURRENCY: '3',
      // The processing step checks the stored file is the one the watcher hashed.
      PIPELINE_COMMAND: 'test "$(sha256sum "$FERRY_FILE_PATH" | cut -c1-64)" = "$FERRY_FILE_SHA256"',
      JOB_CONCURRENCY: '4',
      JOB_BACKOFF: '200ms',
    });
  });

  afterAll(async () => {
    await system?.stop();
  });

  const api = (path: string) => request(system.app).get(path).set('Authorization', `Bearer ${system.token}`);

  async function listAll(): Promise<ApiFile[]> {
    const items: ApiFile[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res = await api(`/api/v1/files?limit=20${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      const body = res.body as { items: ApiFile[]; nextCursor: string | null };
      items.push(...body.items);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    return items;
  }

  it('delivers 50 files of mixed sizes, written fast and slowly, through restarts, each once and intact', async () => {
    const { dir } = system;
    // An empty file is never an acquisition, and one that stays empty never shows up.
    await writeFile(join(dir, 'placeholder.raw'), '');
    const late = await open(join(dir, 'late-start.raw'), 'w');

    const all = sizes();
    let restarted = false;
    const queue = all.map((size, i) => ({ name: `run-${String(i).padStart(2, '0')}.raw`, size, slow: i % 4 === 1 }));
    const writers = Array.from({ length: 6 }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        written.push(await writeAcquisition(dir, job.name, job.size, job.slow));
        if (!restarted && written.length === 20) {
          restarted = true;
          // Mid-run, with uploads and projections in flight.
          await Promise.all([system.restartUploader(), system.restartMonitor()]);
        }
      }
    });
    await Promise.all(writers);
    // The file created empty gets its content only now, long after creation.
    const lateContent = randomBytes(300_000);
    await late.write(lateContent);
    await late.close();
    written.push({ name: 'late-start.raw', size: lateContent.length, sha256: createHash('sha256').update(lateContent).digest('hex'), lastWriteAt: Date.now() });
    expect(written).toHaveLength(51);

    const files = await waitFor(
      'all 51 files done in the API',
      async () => {
        const items = await listAll();
        return items.length >= 51 && items.every((f) => f.status === 'done') ? items : false;
      },
      { timeoutMs: 240_000, intervalMs: 1000 },
    );

    // Each file exactly once, with the right size and hash, announced only after its last write.
    expect(files).toHaveLength(51);
    const byPath = new Map(files.map((f) => [f.path, f]));
    expect(byPath.size).toBe(51);
    expect(byPath.has('placeholder.raw')).toBe(false);
    for (const w of written) {
      const f = byPath.get(w.name);
      expect(f, w.name).toBeDefined();
      expect(f!.size, w.name).toBe(w.size);
      expect(f!.sha256, w.name).toBe(w.sha256);
      expect(Date.parse(f!.detectedAt), `${w.name} announced before its last write`).toBeGreaterThanOrEqual(w.lastWriteAt);
    }

    // Nothing duplicated by the restarts: one detection, one upload, one job per file.
    const counts = await system.db
      .selectFrom('file_events')
      .select(['event', sql<number>`count(*)::int`.as('n'), sql<number>`count(distinct file_id)::int`.as('files')])
      .groupBy('event')
      .execute();
    const byEvent = Object.fromEntries(counts.map((c) => [c.event, c]));
    expect(byEvent['file.detected']).toMatchObject({ n: 51, files: 51 });
    expect(byEvent['upload.done']).toMatchObject({ n: 51, files: 51 });
    expect(byEvent['job.done']).toMatchObject({ n: 51, files: 51 });
    const s3 = createS3Client(system.iso.zone);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: system.iso.bucket, Prefix: 'sha256/' }));
    s3.destroy();
    expect(listed.KeyCount).toBe(51);

    // The bytes that come back are the bytes that were written.
    for (const w of written) {
      const f = byPath.get(w.name)!;
      const res = await api(`/api/v1/files/${f.id}/content`).redirects(0).expect(302);
      const download = await fetch(res.headers.location as string);
      expect(download.status).toBe(200);
      const hash = createHash('sha256');
      for await (const chunk of download.body!) hash.update(chunk as Uint8Array);
      expect(hash.digest('hex'), w.name).toBe(w.sha256);
    }

    // One trace per file, across the services it went through.
    const expectedScopes = ['ferry.watcher', 'ferry.uploader', 'ferry.scheduler', 'ferry.monitor'];
    await waitFor('spans of every service', () => {
      const scopes = new Set(spans.getFinishedSpans().map((s) => s.instrumentationScope.name));
      return expectedScopes.every((s) => scopes.has(s));
    });
    for (const f of files) {
      expect(f.traceId, f.path).toMatch(/^[0-9a-f]{32}$/);
      const trace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === f.traceId);
      const scopes = new Set(trace.map((s) => s.instrumentationScope.name));
      for (const scope of expectedScopes) expect(scopes.has(scope), `${f.path}: no ${scope} span in its trace`).toBe(true);
      const roots = trace.filter((s) => !s.parentSpanContext);
      expect(roots.map((s) => s.name), `${f.path}: one root`).toEqual(['file.detect']);
    }
  });

  it('dead-letters a message that fails its schema: counted, not lost, not retried', async () => {
    const { iso, db } = system;
    const b = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'probe', service: 'probe', logger: testLogger('probe') });
    await b.js.publish(b.subject('file.detected.ms1'), new TextEncoder().encode('{"fileId":"x","size":"big"}'));
    // The uploader and the monitor each read file.detected: each dead-letters it once.
    const rows = await waitFor('two dead letters', async () => {
      const r = await db.selectFrom('dead_letters').selectAll().where('subject', '=', 'file.detected.ms1').execute();
      return r.length === 2 ? r : false;
    });
    expect(rows.map((r) => r.consumer).sort()).toEqual(['monitor-files', 'uploader']);
    expect(rows.every((r) => r.reason === 'invalid' && r.data === '{"fileId":"x","size":"big"}')).toBe(true);
    await sleep(1000);
    expect(await db.selectFrom('dead_letters').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).toEqual({ n: 2 });
    for (const durable of ['uploader', 'monitor-files']) {
      const info = await b.jsm.consumers.info(b.streamName('FILES'), durable);
      expect(info.num_ack_pending, durable).toBe(0);
      expect(info.num_pending, durable).toBe(0);
    }
    await b.close();
  });

  it('a failed upload, retried from the API once its cause is fixed, ends stored', async () => {
    const { iso, db } = system;
    // An acquisition outside the watched folder, announced with a hash its content does not
    // have (it changed after hashing): the uploader refuses it for good.
    const root = await mkdtemp(join(tmpdir(), 'ferry-e2e-retry-'));
    const content = randomBytes(300_000);
    const sha256 = createHash('sha256').update(content).digest('hex');
    await writeFile(join(root, 'run-7.raw'), randomBytes(300_000));
    const fileId = fileIdFor('ms9', 'run-7.raw', sha256);
    const b = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'probe', service: 'probe', logger: testLogger('probe') });
    try {
      const now = new Date().toISOString();
      await b.publish('file.detected', { fileId, instrument: 'ms9', path: 'run-7.raw', root, kind: 'file', size: content.length, sha256, mtime: now, detectedAt: now, watcher: 'e2e' });
      const failed = await waitFor('the file to fail at its upload', async () => {
        const res = await api(`/api/v1/files/${fileId}`);
        return res.status === 200 && res.body.status === 'failed' ? (res.body as { failedStep: string; error: string }) : false;
      });
      expect(failed.failedStep).toBe('upload');
      expect(failed.error).toMatch(/changed since it was detected/);

      // The right content is back; an operator retries from the API.
      await writeFile(join(root, 'run-7.raw'), content);
      const { token } = await createApiToken(db, { name: 'e2e-operator', role: 'operator' });
      await request(system.app).post(`/api/v1/files/${fileId}/retry`).set('Authorization', `Bearer ${token}`).expect(202);
      // The timeline says who asked, and the upload that answered says which retry it was.
      await waitFor('the retry on the timeline', async () => {
        const res = await api(`/api/v1/files/${fileId}`);
        const events = (res.body as { timeline: { event: string; details: Record<string, unknown> }[] }).timeline;
        const asked = events.find((e) => e.event === 'command.retry');
        return asked && events.some((e) => e.event === 'upload.done' && e.details.retryOf === asked.details.commandId);
      });
      const stored = await waitFor('the file to be stored', async () => {
        const res = await api(`/api/v1/files/${fileId}`);
        return res.status === 200 && res.body.status !== 'failed' && res.body.key ? (res.body as { status: string; key: string; failedStep: string | null }) : false;
      });
      expect(['stored', 'queued', 'processing', 'done']).toContain(stored.status);
      expect(stored.failedStep).toBeNull();
      const s3 = createS3Client(iso.zone);
      const object = await s3.send(new GetObjectCommand({ Bucket: iso.bucket, Key: stored.key }));
      expect(createHash('sha256').update(await object.Body!.transformToByteArray()).digest('hex')).toBe(sha256);
      s3.destroy();
      // If the failure raised an alert, it resolves now that the file is stored.
      await waitFor('no upload_failed alert firing', async () => {
        const firing = await db.selectFrom('alerts').select('id').where('rule', '=', 'upload_failed').where('status', '=', 'firing').execute();
        return firing.length === 0;
      });
    } finally {
      await b.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
