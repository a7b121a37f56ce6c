import { waitFor } from '@ferry/testkit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { commandBus, fakeSha, insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { backupSchema, jobListItemSchema } from './schemas.js';

describe('jobs and backups', () => {
  let gw: Gateway | undefined;
  let nats: Awaited<ReturnType<typeof commandBus>> | undefined;
  afterEach(async () => {
    await nats?.close();
    await gw?.close();
    gw = undefined;
    nats = undefined;
  });

  async function job(g: Gateway, id: string, pipeline: string, status: 'queued' | 'processing' | 'done' | 'failed', updatedAt: string, error: string | null = null) {
    await g.db
      .insertInto('jobs')
      .values({ id, file_id: 'f1', pipeline, status, attempt: 1, exit_code: status === 'failed' ? 2 : null, error, queued_at: updatedAt, started_at: null, finished_at: null, updated_at: updatedAt })
      .execute();
  }

  it('lists jobs newest change first with their file, filtered, paged, with open jobs per pipeline', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [{ id: 'f1', instrument: 'ms1', path: 'runs/a.raw' }]);
    await job(gw, 'j1', 'qc', 'done', '2025-01-01T00:00:00Z');
    await job(gw, 'j2', 'qc', 'failed', '2025-01-02T00:00:00Z', 'exit 2: no peaks');
    await job(gw, 'j3', 'convert', 'queued', '2025-01-03T00:00:00Z');
    await job(gw, 'j4', 'convert', 'processing', '2025-01-04T00:00:00Z');
    const auth = await gw.bearer();
    const all = await request(gw.app).get('/api/v1/jobs').set('Authorization', auth).expect(200);
    expect((all.body.items as { id: string }[]).map((j) => j.id)).toEqual(['j4', 'j3', 'j2', 'j1']);
    for (const item of all.body.items as unknown[]) jobListItemSchema.parse(item);
    expect(all.body.items[2]).toMatchObject({ id: 'j2', fileId: 'f1', instrument: 'ms1', path: 'runs/a.raw', status: 'failed', error: 'exit 2: no peaks', exitCode: 2 });
    expect(all.body.pipelines).toEqual([
      { pipeline: 'convert', queued: 1, processing: 1, failed: 0 },
      { pipeline: 'qc', queued: 0, processing: 0, failed: 1 },
    ]);
    const failed = await request(gw.app).get('/api/v1/jobs?status=failed').set('Authorization', auth).expect(200);
    expect((failed.body.items as { id: string }[]).map((j) => j.id)).toEqual(['j2']);
    const convert = await request(gw.app).get('/api/v1/jobs?pipeline=convert&limit=1').set('Authorization', auth).expect(200);
    expect((convert.body.items as { id: string }[]).map((j) => j.id)).toEqual(['j4']);
    const next = await request(gw.app).get(`/api/v1/jobs?pipeline=convert&limit=1&cursor=${convert.body.nextCursor as string}`).set('Authorization', auth).expect(200);
    expect(next.body).toMatchObject({ items: [{ id: 'j3' }], nextCursor: null });
  });

  it.each([
    ['status', 'status=lost'],
    ['pipeline', 'pipeline=a.b'],
    ['limit', 'limit=501'],
    ['cursor', 'cursor=zzz'],
  ])('answers 400 naming %s', async (param, query) => {
    gw = await startGateway();
    const res = await request(gw.app).get(`/api/v1/jobs?${query}`).set('Authorization', await gw.bearer()).expect(400);
    expect(res.body.issues).toEqual([{ param, message: expect.any(String) }]);
  });

  it('lists backups newest first with the last verified one', async () => {
    gw = await startGateway();
    const backup = (id: string, finishedAt: string, verified: boolean, error: string | null) => ({
      id,
      database: 'ferry',
      zone: 'backups',
      key: `db/${id}.dump`,
      size: 1000,
      sha256: fakeSha(id),
      verified,
      error,
      tables: JSON.stringify({ files: { source: 10, restored: verified ? 10 : 9 } }),
      started_at: new Date(Date.parse(finishedAt) - 60_000),
      finished_at: finishedAt,
    });
    await gw.db.insertInto('backups').values([backup('b1', '2025-01-01T00:00:00Z', true, null), backup('b2', '2025-01-02T00:00:00Z', false, 'row counts differ')]).execute();
    const res = await request(gw.app).get('/api/v1/backups').set('Authorization', await gw.bearer()).expect(200);
    for (const item of res.body.items as unknown[]) backupSchema.parse(item);
    expect(res.body.lastVerifiedAt).toBe('2025-01-01T00:00:00.000Z');
    expect(res.body.items).toMatchObject([
      { id: 'b2', verified: false, error: 'row counts differ', durationMs: 60_000, tables: { files: { source: 10, restored: 9 } } },
      { id: 'b1', verified: true, error: null },
    ]);
    await request(gw.app).get('/api/v1/backups?limit=x').set('Authorization', await gw.bearer()).expect(400);
  });

  it('POST /backups publishes a backup command (operator) and answers 202', async () => {
    gw = await startGateway();
    nats = await commandBus(gw.iso);
    await gw.close();
    gw = await startGateway({ iso: gw.iso, bus: nats.bus });
    await request(gw.app).post('/api/v1/backups').expect(401);
    const forbidden = await request(gw.app).post('/api/v1/backups').set('Authorization', await gw.bearer('viewer')).expect(403);
    expect(forbidden.body.message).toBe('needs role operator, token has viewer');
    await request(gw.app).post('/api/v1/backups').set('Authorization', await gw.bearer('operator')).send({ now: true }).expect(400);
    const res = await request(gw.app).post('/api/v1/backups').set('Authorization', await gw.bearer('operator')).expect(202);
    expect(res.body).toEqual({ commandId: expect.any(String), verb: 'backup' });
    const sent = await waitFor('the backup command', () => nats?.commands.find((c) => c.commandId === res.body.commandId));
    expect(sent).toMatchObject({ verb: 'backup', by: 'test-operator', args: {} });
  });

  it('needs a token to read', async () => {
    gw = await startGateway();
    await request(gw.app).get('/api/v1/jobs').expect(401);
    await request(gw.app).get('/api/v1/backups').expect(401);
  });
});
