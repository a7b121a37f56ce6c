import { uploadRetryArgsSchema } from '@ferry/common';
import { testLogger, waitFor } from '@ferry/testkit';
import { sql } from 'kysely';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '../domain/cursor.js';
import { CSV_MAX_ROWS } from '../domain/list-query.js';
import { commandBus, insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { commandAcceptedSchema } from './schemas.js';

/** Parses the CSV the export writes (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('GET /api/v1/files?format=csv', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('exports every matching file with a header row, escaping what needs it', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [
      { id: 'f1', instrument: 'ms1', path: 'plain.raw', status: 'done', detectedAt: '2025-01-01T00:00:00Z' },
      { id: 'f2', instrument: 'ms1', path: 'a "quoted", name\nwith newline.raw', status: 'failed', error: 'boom', detectedAt: '2025-01-02T00:00:00Z' },
      { id: 'f3', instrument: 'ms1', path: '=HYPERLINK("x").raw', status: 'done', detectedAt: '2025-01-03T00:00:00Z' },
      { id: 'f4', instrument: 'ms2', path: 'other.raw', status: 'done', detectedAt: '2025-01-04T00:00:00Z' },
    ]);
    const res = await request(gw.app).get('/api/v1/files').query({ format: 'csv', instrument: 'ms1' }).set('Authorization', await gw.bearer()).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="ferry-files-\d{8}-\d{6}\.csv"$/);
    expect(res.headers['x-ferry-export-truncated']).toBe('false');
    expect(res.headers['x-ferry-export-limit']).toBe(String(CSV_MAX_ROWS));
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual(['id', 'instrument', 'path', 'kind', 'size', 'sha256', 'status', 'failedStep', 'error', 'zone', 'key', 'detectedAt', 'storedAt', 'updatedAt', 'traceId']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['f3', 'f2', 'f1']);
    // A cell a spreadsheet would run as a formula is defused with a leading apostrophe.
    expect(rows[1]?.[2]).toBe(`'=HYPERLINK("x").raw`);
    expect(rows[2]?.[2]).toBe('a "quoted", name\nwith newline.raw');
    expect(rows[2]?.[8]).toBe('boom');
    expect(rows[3]?.slice(9, 12)).toEqual(['', '', '2025-01-01T00:00:00.000Z']);
  });

  it('applies q and the date range, and exports just the header when nothing matches', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [
      { id: 'a', path: 'x/sample-1.raw', detectedAt: '2025-01-01T00:00:00Z' },
      { id: 'b', path: 'x/sample-2.raw', detectedAt: '2025-02-01T00:00:00Z' },
    ]);
    const auth = await gw.bearer();
    const some = await request(gw.app).get('/api/v1/files').query({ format: 'csv', q: 'SAMPLE', since: '2025-01-15', until: '2025-02-01' }).set('Authorization', auth).expect(200);
    expect(parseCsv(some.text).map((r) => r[0])).toEqual(['id', 'b']);
    const none = await request(gw.app).get('/api/v1/files').query({ format: 'csv', q: 'nothing' }).set('Authorization', auth).expect(200);
    expect(parseCsv(none.text)).toHaveLength(1);
  });

  it(`stops at ${CSV_MAX_ROWS} rows and says so in a header`, async () => {
    gw = await startGateway();
    await sql`
      insert into files (id, instrument, path, root, kind, size, sha256, status, mtime, detected_at, updated_at)
      select 'f' || lpad(i::text, 6, '0'), 'ms1', 'runs/' || i || '.raw', '/data', 'file', i, repeat('a', 64), 'done',
             timestamptz '2025-01-01' + i * interval '1 second', timestamptz '2025-01-01' + i * interval '1 second', now()
      from generate_series(1, ${CSV_MAX_ROWS + 5}) i`.execute(gw.db);
    const res = await request(gw.app).get('/api/v1/files?format=csv').set('Authorization', await gw.bearer()).expect(200);
    expect(res.headers['x-ferry-export-truncated']).toBe('true');
    const lines = res.text.split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(CSV_MAX_ROWS + 1);
    // Newest first: the five oldest are the ones left out.
    expect(lines[1]?.startsWith(`f${String(CSV_MAX_ROWS + 5).padStart(6, '0')},`)).toBe(true);
    expect(lines.at(-1)?.startsWith('f000006,')).toBe(true);
  }, 60_000);

  it('refuses paging parameters with csv, and needs a token', async () => {
    gw = await startGateway();
    const cursor = encodeCursor({ detectedAt: '2025-01-01T00:00:00Z', id: 'x' });
    const res = await request(gw.app).get('/api/v1/files').query({ format: 'csv', cursor, limit: 5 }).set('Authorization', await gw.bearer()).expect(400);
    expect((res.body.issues as { param: string }[]).map((i) => i.param).sort()).toEqual(['cursor', 'limit']);
    await request(gw.app).get('/api/v1/files?format=csv').expect(401);
  });
});

describe('POST /api/v1/files/:id/retry', () => {
  let gw: Gateway | undefined;
  let nats: Awaited<ReturnType<typeof commandBus>> | undefined;
  afterEach(async () => {
    await nats?.close();
    await gw?.close();
    gw = undefined;
    nats = undefined;
  });

  it('publishes a retry command for a failed file and answers 202 with its id', async () => {
    gw = await startGateway();
    nats = await commandBus(gw.iso);
    await gw.close();
    gw = await startGateway({ iso: gw.iso, bus: nats.bus });
    await insertFiles(gw.db, [
      { id: 'job-failed', status: 'failed', failedStep: 'job:qc', error: 'exit 1' },
      { id: 'upload-failed', status: 'failed', failedStep: 'upload', error: 'denied' },
      { id: 'odd-failed', status: 'failed', failedStep: 'hashing', error: 'unreadable' },
    ]);
    const operator = await gw.bearer('operator');
    const res = await request(gw.app).post('/api/v1/files/job-failed/retry').set('Authorization', operator).expect(202);
    expect(commandAcceptedSchema.parse(res.body)).toEqual({ commandId: expect.any(String), verb: 'retry' });
    const sent = await waitFor('the retry command', () => nats?.commands.find((c) => c.commandId === res.body.commandId));
    expect(sent).toMatchObject({ verb: 'retry', by: 'test-operator', args: { fileId: 'job-failed', step: 'job:qc', pipeline: 'qc' } });

    // A failed upload: the command carries the file as detected, for an uploader.
    const upload = await request(gw.app).post('/api/v1/files/upload-failed/retry').set('Authorization', operator).expect(202);
    const uploadRetry = await waitFor('the upload retry command', () => nats?.commands.find((c) => c.commandId === upload.body.commandId));
    const args = uploadRetryArgsSchema.parse(uploadRetry.args);
    const row = await gw.db.selectFrom('files').selectAll().where('id', '=', 'upload-failed').executeTakeFirstOrThrow();
    expect(args).toEqual({
      fileId: 'upload-failed',
      step: 'upload',
      detected: { fileId: 'upload-failed', instrument: row.instrument, path: row.path, root: row.root, kind: 'file', size: Number(row.size), sha256: row.sha256, mtime: new Date(row.mtime).toISOString(), detectedAt: new Date(row.detected_at).toISOString() },
    });

    // A pipeline named for a failed upload, or a step nothing retries: refused, saying why.
    const piped = await request(gw.app).post('/api/v1/files/upload-failed/retry').set('Authorization', operator).send({ pipeline: 'convert' }).expect(409);
    expect(piped.body.message).toBe('file upload-failed failed at its upload, not at a pipeline: retry it without one');
    const other = await request(gw.app).post('/api/v1/files/odd-failed/retry').set('Authorization', operator).expect(409);
    expect(other.body.message).toContain('failed at step hashing, which cannot be retried from here');
    expect(other.body.message).toContain('unreadable');
    expect(nats.commands.filter((c) => c.verb === 'retry')).toHaveLength(2);
  });

  it('answers 409 for a file that is not failed, 404 for an unknown one, 400 for a bad body', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [{ id: 'ok', status: 'done' }]);
    const operator = await gw.bearer('operator');
    const done = await request(gw.app).post('/api/v1/files/ok/retry').set('Authorization', operator).expect(409);
    expect(done.body).toEqual({ error: 'conflict', message: 'file ok is done, not failed: only a failed file can be retried' });
    await request(gw.app).post('/api/v1/files/nope/retry').set('Authorization', operator).expect(404);
    const bad = await request(gw.app).post('/api/v1/files/ok/retry').set('Authorization', operator).send({ pipeline: 'no spaces', extra: 1 }).expect(400);
    expect((bad.body.issues as { param: string }[]).map((i) => i.param).sort()).toEqual(['extra', 'pipeline']);
  });

  it('answers 503 when the gateway has no NATS to send it on', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [{ id: 'f', status: 'failed', failedStep: 'job:qc' }]);
    const res = await request(gw.app).post('/api/v1/files/f/retry').set('Authorization', await gw.bearer('operator')).expect(503);
    expect(res.body.message).toMatch(/no NATS/);
  });

  it('needs the operator role', async () => {
    gw = await startGateway({ options: {}, logger: testLogger('gateway') });
    await insertFiles(gw.db, [{ id: 'f', status: 'failed', failedStep: 'upload' }]);
    await request(gw.app).post('/api/v1/files/f/retry').expect(401);
    const res = await request(gw.app).post('/api/v1/files/f/retry').set('Authorization', await gw.bearer('viewer')).expect(403);
    expect(res.body.message).toBe('needs role operator, token has viewer');
  });
});
