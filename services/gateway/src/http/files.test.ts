import { sql } from 'kysely';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '../domain/cursor.js';
import type { FileItem } from '../domain/file-view.js';
import { fakeSha, insertFiles, startGateway, type FileSeed, type Gateway } from '../test-fixtures.js';
import { fileDetailSchema, filePageSchema } from './schemas.js';

describe('GET /api/v1/files', () => {
  let gw: Gateway;
  let auth: string;
  beforeEach(async () => {
    gw = await startGateway();
    auth = await gw.bearer('viewer');
  });
  afterEach(async () => {
    await gw.close();
  });

  const list = async (query: Record<string, string | number> = {}) => {
    const res = await request(gw.app).get('/api/v1/files').query(query).set('Authorization', auth).expect(200);
    return res.body as { items: FileItem[]; nextCursor: string | null };
  };
  const ids = (page: { items: FileItem[] }) => page.items.map((i) => i.id);

  it('returns an empty page when there are no files', async () => {
    expect(await list()).toEqual({ items: [], nextCursor: null });
  });

  it('shows each file in camelCase with ISO times, newest first', async () => {
    await insertFiles(gw.db, [
      { id: 'old', detectedAt: '2025-01-01T00:00:00Z' },
      {
        id: 'new',
        instrument: 'ms2',
        path: 'a/b.raw',
        size: 99,
        status: 'failed',
        failedStep: 'upload',
        error: 'bucket full',
        zone: 'default',
        key: 'sha256/ab/cd/x',
        detectedAt: '2025-01-02T00:00:00Z',
        storedAt: '2025-01-02T00:01:00Z',
        traceId: 'a'.repeat(32),
      },
    ]);
    const page = await list();
    expect(filePageSchema.parse(page)).toEqual(page);
    expect(ids(page)).toEqual(['new', 'old']);
    expect(page.items[0]).toEqual({
      id: 'new',
      instrument: 'ms2',
      path: 'a/b.raw',
      kind: 'file',
      size: 99,
      sha256: fakeSha('new'),
      status: 'failed',
      failedStep: 'upload',
      error: 'bucket full',
      zone: 'default',
      key: 'sha256/ab/cd/x',
      detectedAt: '2025-01-02T00:00:00.000Z',
      storedAt: '2025-01-02T00:01:00.000Z',
      updatedAt: '2025-01-02T00:01:00.000Z',
      traceId: 'a'.repeat(32),
    });
    expect(page.items[1]).toMatchObject({ failedStep: null, error: null, zone: null, key: null, storedAt: null, traceId: null });
  });

  it('breaks ties in detection time by id, descending', async () => {
    await insertFiles(gw.db, ['a', 'c', 'b'].map((id) => ({ id, detectedAt: '2025-01-01T00:00:00Z' })));
    expect(ids(await list())).toEqual(['c', 'b', 'a']);
  });

  it('filters by instrument, status, since and a literal path substring', async () => {
    await insertFiles(gw.db, [
      { id: 'f1', instrument: 'ms1', status: 'done', path: 'Run_50%/A.raw', detectedAt: '2025-01-01T00:00:00Z' },
      { id: 'f2', instrument: 'ms1', status: 'failed', path: 'run_50x/b.raw', detectedAt: '2025-01-02T00:00:00Z' },
      { id: 'f3', instrument: 'ms2', status: 'done', path: 'other/c.RAW', detectedAt: '2025-01-03T00:00:00Z' },
      { id: 'f4', instrument: 'ms2', status: 'stored', path: 'runX50_/d.raw', detectedAt: '2025-01-04T00:00:00Z' },
    ]);
    expect(ids(await list({ instrument: 'ms1' }))).toEqual(['f2', 'f1']);
    expect(ids(await list({ status: 'done' }))).toEqual(['f3', 'f1']);
    expect(ids(await list({ since: '2025-01-02T00:00:00Z' }))).toEqual(['f4', 'f3', 'f2']);
    expect(ids(await list({ since: '2025-01-03' }))).toEqual(['f4', 'f3']);
    // until is exclusive; a plain date includes that whole day.
    expect(ids(await list({ until: '2025-01-03T00:00:00Z' }))).toEqual(['f2', 'f1']);
    expect(ids(await list({ until: '2025-01-03' }))).toEqual(['f3', 'f2', 'f1']);
    expect(ids(await list({ since: '2025-01-02', until: '2025-01-03' }))).toEqual(['f3', 'f2']);
    expect(ids(await list({ since: '2025-01-02', until: '2025-01-02' }))).toEqual(['f2']);
    expect(ids(await list({ instrument: 'ms2', since: '2025-01-01', until: '2025-01-03T12:00:00+01:00' }))).toEqual(['f3']);
    // Case-insensitive, and % and _ match only themselves.
    expect(ids(await list({ q: 'run_50%' }))).toEqual(['f1']);
    expect(ids(await list({ q: '.raw' }))).toEqual(['f4', 'f3', 'f2', 'f1']);
    expect(ids(await list({ q: '50_' }))).toEqual(['f4']);
    expect(ids(await list({ instrument: 'ms2', status: 'done', q: 'c.raw' }))).toEqual(['f3']);
    expect(ids(await list({ instrument: 'nobody' }))).toEqual([]);
  });

  it('pages through 120 files with no duplicate and no gap', async () => {
    const seeds: FileSeed[] = [];
    for (let i = 0; i < 120; i++) {
      // Groups of three share a millisecond and differ in microseconds; every tenth pair
      // shares the exact time, so both parts of the sort key are exercised at page edges.
      const ms = Math.floor(i / 3);
      const micros = i % 10 === 1 ? 0 : i % 3;
      const at = new Date(Date.UTC(2025, 0, 1) + ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
      seeds.push({ id: `file-${String(i).padStart(3, '0')}`, detectedAt: at });
    }
    await insertFiles(gw.db, seeds);
    const expected = (
      await gw.db.selectFrom('files').select('id').orderBy('detected_at', 'desc').orderBy('id', 'desc').execute()
    ).map((r) => r.id);
    expect(new Set(expected).size).toBe(120);

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: FileItem[]; nextCursor: string | null } = await list(cursor ? { limit: 50, cursor } : { limit: 50 });
      sizes.push(page.items.length);
      seen.push(...ids(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([50, 50, 20]);
    expect(seen).toEqual(expected);
  });

  it('gives no cursor when the last page is exactly full', async () => {
    await insertFiles(gw.db, ['a', 'b', 'c', 'd'].map((id) => ({ id })));
    const first = await list({ limit: 2 });
    expect(first.nextCursor).not.toBeNull();
    const second = await list({ limit: 2, cursor: first.nextCursor! });
    expect(ids(second)).toEqual(['b', 'a']);
    expect(second.nextCursor).toBeNull();
  });

  it('keeps pages stable when newer files arrive meanwhile', async () => {
    await insertFiles(gw.db, ['a', 'b', 'c', 'd'].map((id, i) => ({ id, detectedAt: `2025-01-0${i + 1}T00:00:00Z` })));
    const first = await list({ limit: 2 });
    await insertFiles(gw.db, [{ id: 'z', detectedAt: '2026-01-01T00:00:00Z' }]);
    expect(ids(await list({ limit: 2, cursor: first.nextCursor! }))).toEqual(['b', 'a']);
  });

  it('defaults to 50 items', async () => {
    await insertFiles(gw.db, Array.from({ length: 51 }, (_, i) => ({ id: `f${i}` })));
    const page = await list();
    expect(page.items).toHaveLength(50);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it.each([
    ['status', { status: 'lost' }],
    ['limit', { limit: '0' }],
    ['limit', { limit: '501' }],
    ['limit', { limit: 'many' }],
    ['since', { since: 'last tuesday' }],
    ['cursor', { cursor: 'garbage!' }],
    ['cursor', { cursor: encodeCursor({ detectedAt: '2025-01-01T00:00:00Z', id: 'x' }).slice(0, 10) }],
    ['until', { until: 'tomorrow' }],
    ['until', { since: '2025-01-02', until: '2025-01-01T00:00:00Z' }],
    ['format', { format: 'xml' }],
    ['limit', { format: 'csv', limit: '10' }],
    ['instrument', { instrument: 'a b' }],
    ['q', { q: 'x'.repeat(257) }],
    ['sort', { sort: 'asc' }],
  ])('answers 400 naming %s for %j', async (param, query) => {
    const res = await request(gw.app).get('/api/v1/files').query(query).set('Authorization', auth).expect(400);
    expect(res.body.error).toBe('bad_request');
    expect(res.body.message).toContain(param);
    expect(res.body.issues).toEqual([{ param, message: expect.any(String) }]);
  });

  it('answers 400 for a repeated parameter', async () => {
    const res = await request(gw.app).get('/api/v1/files?status=done&status=failed').set('Authorization', auth).expect(400);
    expect(res.body.issues).toEqual([{ param: 'status', message: 'must be given once' }]);
  });
});

describe('GET /api/v1/files/:id', () => {
  let gw: Gateway;
  let auth: string;
  beforeEach(async () => {
    gw = await startGateway();
    auth = await gw.bearer('viewer');
  });
  afterEach(async () => {
    await gw.close();
  });

  it('returns the file with its timeline in order and its jobs', async () => {
    await insertFiles(gw.db, [{ id: 'f1', status: 'processing', zone: 'default', key: 'k', storedAt: '2025-01-01T00:02:00Z' }, { id: 'other' }]);
    await gw.db
      .insertInto('file_events')
      .values([
        // Inserted out of order; two events share a time, so the id decides between them.
        { file_id: 'f1', event_id: 'e3', event: 'job.queued', status: 'queued', at: '2025-01-01T00:03:00Z', instance: 'sched-1', trace_id: 't1', details: JSON.stringify({ pipeline: 'qc' }) },
        { file_id: 'f1', event_id: 'e1', event: 'file.detected', status: 'detected', at: '2025-01-01T00:00:00Z', instance: 'watch-1', trace_id: 't1', details: JSON.stringify({}) },
        { file_id: 'f1', event_id: 'e2', event: 'upload.done', status: 'stored', at: '2025-01-01T00:02:00Z', instance: 'up-1', trace_id: 't1', details: JSON.stringify({ existed: false }) },
        { file_id: 'f1', event_id: 'e2b', event: 'upload.note', status: null, at: '2025-01-01T00:02:00Z', instance: null, trace_id: null, details: JSON.stringify({ n: 1 }) },
        { file_id: 'other', event_id: 'e9', event: 'file.detected', status: 'detected', at: '2025-01-01T00:00:00Z', instance: 'w', trace_id: null, details: JSON.stringify({}) },
      ])
      .execute();
    await gw.db
      .insertInto('jobs')
      .values({
        id: 'j1',
        file_id: 'f1',
        pipeline: 'qc',
        status: 'processing',
        attempt: 1,
        exit_code: null,
        error: null,
        queued_at: '2025-01-01T00:03:00Z',
        started_at: '2025-01-01T00:04:00Z',
        finished_at: null,
        updated_at: '2025-01-01T00:04:00Z',
      })
      .execute();

    const res = await request(gw.app).get('/api/v1/files/f1').set('Authorization', auth).expect(200);
    expect(res.body).toMatchObject({ id: 'f1', status: 'processing', storedAt: '2025-01-01T00:02:00.000Z' });
    expect(res.body.timeline).toEqual([
      { event: 'file.detected', status: 'detected', at: '2025-01-01T00:00:00.000Z', instance: 'watch-1', traceId: 't1', details: {}, sincePreviousMs: null },
      { event: 'upload.done', status: 'stored', at: '2025-01-01T00:02:00.000Z', instance: 'up-1', traceId: 't1', details: { existed: false }, sincePreviousMs: 120_000 },
      { event: 'upload.note', status: null, at: '2025-01-01T00:02:00.000Z', instance: null, traceId: null, details: { n: 1 }, sincePreviousMs: 0 },
      { event: 'job.queued', status: 'queued', at: '2025-01-01T00:03:00.000Z', instance: 'sched-1', traceId: 't1', details: { pipeline: 'qc' }, sincePreviousMs: 60_000 },
    ]);
    expect(res.body.manifest).toBeNull();
    expect(fileDetailSchema.safeParse(res.body).success).toBe(true);
    expect(res.body.jobs).toEqual([
      {
        id: 'j1',
        pipeline: 'qc',
        status: 'processing',
        attempt: 1,
        exitCode: null,
        error: null,
        queuedAt: '2025-01-01T00:03:00.000Z',
        startedAt: '2025-01-01T00:04:00.000Z',
        finishedAt: null,
        updatedAt: '2025-01-01T00:04:00.000Z',
      },
    ]);
  });

  it('returns an empty timeline for a file with no events yet', async () => {
    await insertFiles(gw.db, [{ id: 'quiet' }]);
    const res = await request(gw.app).get('/api/v1/files/quiet').set('Authorization', auth).expect(200);
    expect(res.body).toMatchObject({ id: 'quiet', timeline: [], jobs: [], manifest: null });
  });

  it('lists the manifest of a folder acquisition, sorted by path', async () => {
    await insertFiles(gw.db, [{ id: 'dir', kind: 'folder', path: 'plate.d' }]);
    const manifest = [
      { path: 'plate.d/b.bin', size: 2, sha256: fakeSha('b') },
      { path: 'plate.d/a.bin', size: 1, sha256: fakeSha('a') },
    ];
    await gw.db.updateTable('files').set({ manifest: JSON.stringify(manifest) }).where('id', '=', 'dir').execute();
    const res = await request(gw.app).get('/api/v1/files/dir').set('Authorization', auth).expect(200);
    expect(res.body.kind).toBe('folder');
    expect(res.body.manifest).toEqual([manifest[1], manifest[0]]);
  });

  it('answers 404 for an unknown id', async () => {
    const res = await request(gw.app).get('/api/v1/files/nope').set('Authorization', auth).expect(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'no file with id nope' });
  });

  it('answers 400, not 500, for a path that is not valid percent-encoding', async () => {
    const res = await request(gw.app).get('/api/v1/files/%E0%A4%A').set('Authorization', auth).expect(400);
    expect(res.body.error).toBe('bad_request');
  });

  it('keeps SQL out of ids', async () => {
    await insertFiles(gw.db, [{ id: 'f1' }]);
    await request(gw.app).get(`/api/v1/files/${encodeURIComponent("f1' or '1'='1")}`).set('Authorization', auth).expect(404);
    const count = await sql<{ n: number }>`select count(*)::int as n from files`.execute(gw.db);
    expect(count.rows[0]?.n).toBe(1);
  });
});
