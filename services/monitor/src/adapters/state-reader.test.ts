import type { EventOf } from '@ferry/common';
import { testLogger } from '@ferry/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultAlertSettings } from '../domain/settings.js';
import { FakeClock } from '../testing/clock.js';
import { integration } from '../testing/fixtures.js';
import { Projection } from './projection.js';
import { StateReader } from './state-reader.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const GB = 1e9;

describe('state reader: what the rules see in PostgreSQL', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function setup() {
    const env = await integration('reader');
    closers.push(() => env.close());
    const clock = new FakeClock();
    return { ...env, clock, projection: new Projection(env.db), reader: new StateReader(env.db, testLogger('monitor')) };
  }

  it('projects canary results idempotently and gives each canary instrument its last check and last ok', async () => {
    const { clock, projection, reader } = await setup();
    const result = (checkId: string, instrument: string, agoMs: number, outcome: 'ok' | 'late' | 'failed', detail?: string): EventOf<'canary.result'> => ({
      checkId,
      instrument,
      instance: 'core1',
      result: outcome,
      latencyMs: 4000,
      limitMs: 120_000,
      intervalMs: 300_000,
      sha256: 'a'.repeat(64),
      checkedAt: clock.iso(-agoMs),
      ...(detail ? { detail } : {}),
    });
    await projection.apply('canary.result', result('c1', 'canary', 20 * MIN, 'ok'));
    await projection.apply('canary.result', result('c2', 'canary', 10 * MIN, 'ok'));
    await projection.apply('canary.result', result('c3', 'canary', 5 * MIN, 'failed', 'upload failed: AccessDenied'));
    // A redelivery changes nothing.
    await projection.apply('canary.result', result('c3', 'canary', 5 * MIN, 'failed', 'upload failed: AccessDenied'));
    await projection.apply('canary.result', result('d1', 'canary-b', 5 * MIN, 'late', 'not stored in time'));
    const snapshot = await reader.read(clock.ms, defaultAlertSettings());
    expect(snapshot.canaries).toEqual([
      { instrument: 'canary', instance: 'core1', result: 'failed', checkedAt: clock.ms - 5 * MIN, latencyMs: 4000, limitMs: 120_000, intervalMs: 300_000, detail: 'upload failed: AccessDenied', lastOkAt: clock.ms - 10 * MIN },
      { instrument: 'canary-b', instance: 'core1', result: 'late', checkedAt: clock.ms - 5 * MIN, latencyMs: 4000, limitMs: 120_000, intervalMs: 300_000, detail: 'not stored in time', lastOkAt: null },
    ]);
  });

  it('fits a line through the disk samples of the forecast window, one sample per 5 minutes', async () => {
    const { clock, projection, reader } = await setup();
    // 3 hours of heartbeats every 2.5 min (two per sample bucket), losing 10 GB per hour.
    const start = clock.ms - 3 * HOUR;
    for (let t = start; t <= clock.ms; t += 150_000) {
      const beat: EventOf<'heartbeat'> = {
        service: 'watcher',
        instance: 'ms1-pc',
        version: '1',
        at: new Date(t).toISOString(),
        intervalMs: 30_000,
        startedAt: new Date(start).toISOString(),
        disks: [{ path: '/data', freeBytes: 500 * GB - ((t - start) / HOUR) * 10 * GB, totalBytes: 2000 * GB }],
        details: {},
      };
      await projection.apply('heartbeat', beat);
    }
    const snapshot = await reader.read(clock.ms, defaultAlertSettings());
    const [trend] = snapshot.diskTrends ?? [];
    expect(trend?.samples).toBe(37); // 3 h / 5 min, plus the last bucket
    expect((trend?.slope ?? 0) * HOUR).toBeCloseTo(-10 * GB, -3);
    expect(snapshot.components?.[0]?.disks[0]?.freeBytes).toBe(470 * GB);
  });

  it('counts waiting files, finds overdue ones, final failures, dead letters and the last verified backup', async () => {
    const { clock, projection, reader } = await setup();
    const sha = (i: number) => String(i).padStart(64, 'c');
    const detect = (i: number, agoMs: number, instrument = 'ms1') =>
      projection.apply('file.detected', { fileId: `f${i}`, instrument, path: `run-${i}.raw`, root: '/data', kind: 'file', size: 1, sha256: sha(i), mtime: clock.iso(-agoMs), detectedAt: clock.iso(-agoMs), watcher: 'pc' });
    for (let i = 0; i < 4; i++) await detect(i, MIN);
    await detect(10, 45 * MIN);
    await detect(11, 2 * HOUR);
    await detect(20, 5 * MIN, 'ms2');
    await projection.apply('upload.failed', { fileId: 'f20', instrument: 'ms2', path: 'run-20.raw', sha256: sha(20), error: 'access denied', attempt: 5, final: true, failedAt: clock.iso(-MIN), uploader: 'u1' });
    await detect(30, 10 * MIN);
    await projection.apply('upload.done', { fileId: 'f30', instrument: 'ms1', path: 'run-30.raw', size: 1, sha256: sha(30), zone: 'default', key: 'k', existed: false, storedAt: clock.iso(-9 * MIN), durationMs: 1, uploader: 'u1' });
    const job = { jobId: 'j30', fileId: 'f30', pipeline: 'convert', instrument: 'ms1', sha256: sha(30), attempt: 3 };
    await projection.apply('job.failed', { ...job, at: clock.iso(-2 * MIN), exitCode: 2, error: 'exit code 2', final: true });
    await projection.apply('dead.letter', { stream: 'FILES', consumer: 'uploader', subject: 'file.detected.ms1', sequence: 7, deliveries: 1, reason: 'invalid', error: 'bad json', data: '{', headers: {}, at: clock.iso(-MIN) });
    await projection.apply('dead.letter', { stream: 'FILES', consumer: 'uploader', subject: 'file.detected.ms1', sequence: 3, deliveries: 1, reason: 'invalid', error: 'old', data: '{', headers: {}, at: clock.iso(-48 * HOUR) });
    const backup = { database: 'ferry', zone: 'default', key: 'b', size: 1, sha256: sha(99), tables: {}, startedAt: clock.iso(-30 * HOUR) };
    await projection.apply('backup.completed', { ...backup, backupId: 'b1', verified: true, finishedAt: clock.iso(-30 * HOUR) });
    await projection.apply('backup.completed', { ...backup, backupId: 'b2', verified: false, error: 'restore failed', finishedAt: clock.iso(-HOUR) });
    await projection.apply('backup.completed', { ...backup, backupId: 'b2', verified: false, error: 'restore failed', finishedAt: clock.iso(-HOUR) }); // replayed

    const s = await reader.read(clock.ms, defaultAlertSettings({ instruments: { ms1: { quietTime: '1h' }, ms3: { quietTime: '1h' } } }));
    const ms1 = s.waiting?.find((w) => w.instrument === 'ms1' && w.status === 'detected');
    expect(ms1).toEqual({ instrument: 'ms1', status: 'detected', count: 6, overdueCount: 2, overdue: [{ path: 'run-11.raw', since: clock.ms - 2 * HOUR }, { path: 'run-10.raw', since: clock.ms - 45 * MIN }] });
    expect(s.failures).toEqual([
      { kind: 'upload', instrument: 'ms2', pipeline: '', count: 1, lastAt: clock.ms - MIN, examples: [{ path: 'run-20.raw', error: 'access denied' }] },
      { kind: 'job', instrument: 'ms1', pipeline: 'convert', count: 1, lastAt: clock.ms - 2 * MIN, examples: [{ path: 'run-30.raw', error: 'exit code 2' }] },
    ]);
    expect(s.deadLetters).toEqual([{ stream: 'FILES', consumer: 'uploader', count: 1, lastAt: clock.ms - MIN, lastSubject: 'file.detected.ms1', lastError: 'bad json' }]);
    expect(s.backups).toEqual({ lastVerifiedAt: clock.ms - 30 * HOUR, last: { finishedAt: clock.ms - HOUR, verified: false, error: 'restore failed' } });
    expect(s.lastDetections).toEqual({ ms1: clock.ms - MIN });
    expect(s.since).toBe(clock.ms);
    // The first run is remembered.
    expect((await reader.read(clock.ms + HOUR, defaultAlertSettings())).since).toBe(clock.ms);
  });
});
