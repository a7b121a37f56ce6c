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
    const start = async (durablePrefix = 'monitor', alerting?: false) => {
      const m = createMonitor({ bus, db, logger, instance: 'test', durablePrefix, ...(alerting === false ? { alerting } : {}) });
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
    backups: await db.selectFrom('backups').selectAll().orderBy('id').execute(),
    disks: await db.selectFrom('disk_samples').selectAll().orderBy(['instance', 'bucket_at']).execute(),
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

  it('moves a file back to its upload on an upload retry, until an outcome of that retry arrives', async () => {
    const { bus, db, start } = await setup();
    await start();
    const d = detected('retried.raw');
    const failure = (error: string, failedAt: string, retryOf?: string) =>
      bus.publish('upload.failed', { fileId: d.fileId, instrument: 'ms1', path: d.path, sha256: hash, zone: 'default', error, attempt: 1, final: true, failedAt, uploader: 'u1', ...(retryOf ? { retryOf } : {}) });
    const retry = (commandId: string, at: string, step = 'upload') =>
      bus.publish('command', { commandId, verb: 'retry', by: 'alice', at, args: { fileId: d.fileId, step, ...(step === 'upload' ? { detected: d } : { pipeline: 'qc' }) } });
    const row = (status: string) =>
      waitFor(`status ${status}`, async () => {
        const r = await db.selectFrom('files').select(['status', 'failed_step', 'error']).where('id', '=', d.fileId).executeTakeFirst();
        return r?.status === status ? r : undefined;
      });
    await bus.publish('file.detected', d);
    await failure('access denied', now(2000));
    await row('failed');
    // A job retry is the scheduler's: the file does not move.
    await retry('job-1', now(2500), 'job:qc');
    await retry('c1', now(3000));
    expect(await row('detected')).toEqual({ status: 'detected', failed_step: null, error: null });
    // The retry fails too, stamped earlier than the command by a host whose clock is behind:
    // it is that retry's outcome all the same.
    await failure('still denied', now(2900), 'c1');
    expect(await row('failed')).toEqual({ status: 'failed', failed_step: 'upload', error: 'still denied' });
    await retry('c2', now(5000));
    await row('detected');
    await bus.publish('upload.done', { fileId: d.fileId, instrument: 'ms1', path: d.path, size: 42, sha256: hash, zone: 'default', key: 'k', existed: false, storedAt: now(6000), durationMs: 5, uploader: 'u1', retryOf: 'c2' });
    await row('stored');
    const timeline = await db.selectFrom('file_events').select(['event', 'event_id']).where('file_id', '=', d.fileId).orderBy('at').orderBy('id').execute();
    expect(timeline.map((e) => e.event)).toEqual(['file.detected', 'upload.failed', 'upload.failed', 'command.retry', 'command.retry', 'upload.done']);
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

  it('gives the same rows with two instances sharing the work on shuffled events, and on a replay', async () => {
    const { bus, db, start } = await setup();
    const events: { name: 'file.detected' | 'upload.done' | 'upload.failed' | 'job.queued' | 'job.started' | 'job.failed' | 'job.done' | 'heartbeat' | 'backup.completed'; event: unknown }[] = [];
    for (let i = 0; i < 8; i++) {
      const d = detected(`batch/run-${i}.raw`);
      const job = { jobId: `p-v1-${d.fileId}`, fileId: d.fileId, pipeline: 'p', instrument: 'ms1', sha256: hash, attempt: 1 };
      events.push({ name: 'file.detected', event: d });
      if (i % 4 === 3) {
        events.push({ name: 'upload.failed', event: { fileId: d.fileId, instrument: 'ms1', path: d.path, sha256: hash, error: 'timeout', attempt: 1, final: false, failedAt: now(1500), uploader: 'u1' } });
        events.push({ name: 'upload.failed', event: { fileId: d.fileId, instrument: 'ms1', path: d.path, sha256: hash, error: 'denied', attempt: 2, final: true, failedAt: now(1800), uploader: 'u1' } });
        continue;
      }
      events.push({ name: 'upload.done', event: { fileId: d.fileId, instrument: 'ms1', path: d.path, size: 42, sha256: hash, zone: 'default', key: `k${i}`, existed: false, storedAt: now(2000), durationMs: 5, uploader: 'u1' } });
      events.push({ name: 'job.queued', event: { ...job, at: now(3000) } });
      events.push({ name: 'job.started', event: { ...job, at: now(4000), worker: 'w1' } });
      events.push({ name: 'job.failed', event: { ...job, at: now(5000), exitCode: 1, error: 'exit code 1', final: i % 4 === 2 } });
      if (i % 4 !== 2) {
        events.push({ name: 'job.started', event: { ...job, attempt: 2, at: now(6000), worker: 'w2' } });
        events.push({ name: 'job.done', event: { ...job, attempt: 2, at: now(7000), exitCode: 0, durationMs: 1000 } });
      }
    }
    for (let k = 0; k < 12; k++) {
      events.push({ name: 'heartbeat', event: { service: 'watcher', instance: 'pc9', version: '1', at: now(k * 60_000), intervalMs: 60_000, startedAt: now(), disks: [{ path: '/data', freeBytes: 1000 - k, totalBytes: 2000 }], details: {} } });
    }
    events.push({ name: 'backup.completed', event: { backupId: 'b1', database: 'ferry', zone: 'default', key: 'backups/b1', size: 10, sha256: hash, verified: true, tables: { files: { source: 8, restored: 8 } }, startedAt: now(), finishedAt: now(9000) } });
    // A fixed shuffle, so a failure can be replayed.
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    const a = await start('shared', false);
    const b = await start('shared', false);
    for (const e of events) await bus.publish(e.name, e.event as never);
    const fileEvents = events.filter((e) => e.name !== 'heartbeat' && e.name !== 'backup.completed').length;
    await waitFor('every event projected', async () => (await db.selectFrom('file_events').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n >= fileEvents && (await db.selectFrom('backups').selectAll().execute()).length === 1, { timeoutMs: 20_000 });
    await waitFor('heartbeats projected', async () => (await db.selectFrom('components').select('last_seen_at').where('instance', '=', 'pc9').executeTakeFirst())?.last_seen_at.toISOString() === now(11 * 60_000));
    expect(a.stats().projected).toBeGreaterThan(0);
    expect(b.stats().projected).toBeGreaterThan(0);
    const shared = await snapshot(db);
    expect(shared.files.map((f) => [f.path, f.status, f.failed_step, f.key])).toEqual(
      expect.arrayContaining([
        ['batch/run-0.raw', 'done', null, 'k0'],
        ['batch/run-2.raw', 'failed', 'job:p', 'k2'],
        ['batch/run-3.raw', 'failed', 'upload', null],
      ]),
    );
    expect(shared.jobs.map((j) => j.status).sort()).toEqual(['done', 'done', 'done', 'done', 'failed', 'failed']);
    // One sample per 5 minutes: the earliest heartbeat of each bucket, whatever the order.
    expect(shared.disks.map((d) => d.free_bytes)).toEqual([1000, 995, 990]);
    const replay = await start('replay', false);
    await waitFor('the replay to catch up', () => replay.stats().projected >= events.length, { timeoutMs: 20_000 });
    expect(await snapshot(db)).toEqual(shared);
  });
});
