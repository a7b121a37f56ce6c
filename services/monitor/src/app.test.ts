import { Bus, createDatabase, fileIdFor, setupTelemetry, type Database, type EventOf } from '@ferry/common';
import { isolate, testLogger, waitFor } from '@ferry/testkit';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createMonitor, type Monitor } from './app.js';

const now = (offsetMs = 0) => new Date(Date.UTC(2026, 10, 1, 12) + offsetMs).toISOString();
const hash = 'ab'.repeat(32);

function detected(path: string): EventOf<'file.detected'> {
  return {
    fileId: fileIdFor('ms1', path, hash),
    instrument: 'ms1',
    path,
    root: '/data/ms1',
    kind: 'file',
    size: 42,
    sha256: hash,
    mtime: now(),
    detectedAt: now(1000),
    watcher: 'pc1',
  };
}

setupTelemetry({ service: 'monitor-test' });

describe('monitor projection against real NATS and PostgreSQL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const iso = await isolate('mon');
    const logger = testLogger('monitor');
    const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'm', service: 'monitor', logger });
    await bus.ensureStreams();
    const db: Kysely<Database> = createDatabase({ url: iso.databaseUrl, maxConnections: 4 });
    const monitors: Monitor[] = [];
    const start = async (durablePrefix = 'monitor') => {
      const m = createMonitor({ bus, db, logger, instance: 'test', durablePrefix });
      monitors.push(m);
      await m.start();
      return m;
    };
    cleanups.push(async () => {
      for (const m of monitors) await m.stop();
      await bus.close();
      await db.destroy();
    });
    return { bus, db, start };
  }

  const snapshot = async (db: Kysely<Database>) => ({
    files: await db.selectFrom('files').selectAll().orderBy('id').execute(),
    events: await db.selectFrom('file_events').select(['file_id', 'event_id', 'event', 'status', 'at', 'instance', 'details']).orderBy('event_id').execute(),
    jobs: await db.selectFrom('jobs').selectAll().orderBy('id').execute(),
  });

  it('projects a file through its life, with a timeline, and a replay changes nothing', async () => {
    const { bus, db, start } = await setup();
    await start();
    const d = detected('run-1.raw');
    const job = { jobId: `p-v1-${d.fileId}`, fileId: d.fileId, pipeline: 'p', instrument: 'ms1', sha256: hash, attempt: 1 };
    await bus.publish('file.detected', d);
    await bus.publish('upload.done', { fileId: d.fileId, instrument: 'ms1', path: d.path, size: 42, sha256: hash, zone: 'default', key: `sha256/ab/ab/${hash}`, existed: false, storedAt: now(2000), durationMs: 5, uploader: 'u1' });
    await bus.publish('job.queued', { ...job, at: now(3000) });
    await bus.publish('job.started', { ...job, at: now(4000), worker: 'w1' });
    await bus.publish('job.failed', { ...job, at: now(5000), exitCode: 1, error: 'exit code 1', final: false });
    await bus.publish('job.started', { ...job, attempt: 2, at: now(6000), worker: 'w1' });
    await bus.publish('job.done', { ...job, attempt: 2, at: now(7000), exitCode: 0, durationMs: 1000 });
    const file = await waitFor('file done', async () => {
      const row = await db.selectFrom('files').selectAll().where('id', '=', d.fileId).executeTakeFirst();
      return row?.status === 'done' ? row : undefined;
    });
    expect(file).toMatchObject({ size: 42, zone: 'default', key: `sha256/ab/ab/${hash}`, failed_step: null });
    expect(file.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const timeline = await db.selectFrom('file_events').select(['event', 'status']).where('file_id', '=', d.fileId).orderBy('at').execute();
    expect(timeline.map((t) => t.event)).toEqual(['file.detected', 'upload.done', 'job.queued', 'job.started', 'job.failed', 'job.started', 'job.done']);
    const before = await snapshot(db);
    // A second monitor with its own consumers reads the whole stream again.
    const replay = await start('replay');
    await waitFor('the replay to catch up', () => replay.stats().projected >= 7);
    expect(await snapshot(db)).toEqual(before);
  });

  it('reaches the same state when job events arrive before the upload', async () => {
    const { bus, db, start } = await setup();
    const d = detected('late.raw');
    const job = { jobId: `p-v1-${d.fileId}`, fileId: d.fileId, pipeline: 'p', instrument: 'ms1', sha256: hash, attempt: 1 };
    await bus.publish('job.done', { ...job, at: now(7000), exitCode: 0, durationMs: 1 });
    await bus.publish('job.queued', { ...job, at: now(3000) });
    await start();
    await new Promise((r) => setTimeout(r, 300));
    await bus.publish('file.detected', d);
    await waitFor('done', async () => (await db.selectFrom('files').select('status').where('id', '=', d.fileId).executeTakeFirst())?.status === 'done');
  });

  it('records final failures with the failing step and reason', async () => {
    const { bus, db, start } = await setup();
    await start();
    const d = detected('denied.raw');
    await bus.publish('file.detected', d);
    await bus.publish('upload.failed', { fileId: d.fileId, instrument: 'ms1', path: d.path, sha256: hash, zone: 'default', error: 'access denied', attempt: 1, final: true, failedAt: now(2000), uploader: 'u1' });
    const row = await waitFor('failed', async () => {
      const r = await db.selectFrom('files').selectAll().where('id', '=', d.fileId).executeTakeFirst();
      return r?.status === 'failed' ? r : undefined;
    });
    expect(row).toMatchObject({ failed_step: 'upload', error: 'access denied' });
  });

  it('keeps components from heartbeats and counts dead letters', async () => {
    const { bus, db, start } = await setup();
    await start();
    await bus.publish('heartbeat', { service: 'watcher', instance: 'pc1', version: '1', at: now(1000), intervalMs: 30_000, startedAt: now(), disks: [{ path: '/data', freeBytes: 5, totalBytes: 10 }], details: { filesPending: 3 } });
    await bus.publish('heartbeat', { service: 'watcher', instance: 'pc1', version: '1', at: now(31_000), intervalMs: 30_000, startedAt: now(), disks: [{ path: '/data', freeBytes: 4, totalBytes: 10 }], details: { filesPending: 0 } });
    await bus.publish('heartbeat', { service: 'uploader', instance: 'w1', version: '1', at: now(2000), intervalMs: 30_000, startedAt: now(), disks: [], details: {}, zones: [{ name: 'default', kind: 's3', bucket: 'raw', endpoint: 'http://minio:9000', prefix: 'lab' }] });
    await bus.js.publish(bus.subject('upload.done.ms1'), new TextEncoder().encode('not json'));
    const watcherRow = () => db.selectFrom('components').selectAll().where('service', '=', 'watcher').executeTakeFirst();
    await waitFor('component row', async () => (await watcherRow())?.last_seen_at.toISOString() === now(31_000));
    const component = (await watcherRow())!;
    expect(component.disks).toEqual([{ path: '/data', freeBytes: 4, totalBytes: 10 }]);
    const zone = await waitFor('zone row', async () => db.selectFrom('zones').selectAll().executeTakeFirst());
    expect(zone).toMatchObject({ name: 'default', kind: 's3', bucket: 'raw', endpoint: 'http://minio:9000', prefix: 'lab', reported_by: 'uploader/w1' });
    const dead = await waitFor('dead letter row', async () => db.selectFrom('dead_letters').selectAll().executeTakeFirst());
    expect(dead).toMatchObject({ subject: 'upload.done.ms1', reason: 'invalid', data: 'not json' });
  });
});
