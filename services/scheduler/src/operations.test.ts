import { Bus, type EventOf } from '@ferry/common';
import { isolate, testLogger } from '@ferry/testkit';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { redisOptionsFromUrl } from './adapters/redis.js';
import { createSchedulerService } from './app.js';
import { loadConfig } from './config.js';
import { OPS_QUEUES } from './operations.js';
import { waitFor } from './testing/harness.js';

describe('operations in the scheduler service', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('schedules backups and maintenance, and backs up now on a command, once per command id', async () => {
    const iso = await isolate('ops');
    const observer = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'observer', service: 'test', logger: testLogger('test') });
    cleanups.push(() => observer.close());
    await observer.ensureStreams();
    const completed: EventOf<'backup.completed'>[] = [];
    await observer.consume({
      stream: 'OPS',
      durable: 'observer',
      filter: 'backup.>',
      events: ['backup.completed'],
      handler: (m) => {
        completed.push(m.event);
        return Promise.resolve();
      },
    });
    const env = {
      ...iso.env,
      SCHEDULER_MODE: 'queue',
      BACKUP_DATABASE_URL: iso.databaseUrl,
      BACKUP_ZONE_BUCKET: iso.bucket,
      BACKUP_ZONE_ENDPOINT: iso.zone.endpoint!,
      BACKUP_ZONE_PATH_STYLE: 'true',
      BACKUP_ZONE_ACCESS_KEY_ID: iso.zone.accessKeyId!,
      BACKUP_ZONE_SECRET_ACCESS_KEY: iso.zone.secretAccessKey!,
      BACKUP_NIGHTLY_CRON: 'off',
      PG_BIN_DIR: iso.servers.postgresBinDir,
    };
    const service = createSchedulerService({ config: loadConfig(env), logger: testLogger('scheduler') });
    cleanups.push(() => service.stop());
    await service.start();

    const connection = redisOptionsFromUrl(iso.redisUrl);
    const schedulers = async (name: string) => {
      const q = new Queue(name, { connection, prefix: iso.queuePrefix });
      try {
        return (await q.getJobSchedulers()).map((s) => [s.key, s.pattern]);
      } finally {
        await q.close();
      }
    };
    expect(await schedulers(OPS_QUEUES.backup)).toEqual([['backup-hourly', '0 * * * *']]);
    expect(await schedulers(OPS_QUEUES.maintenance)).toEqual([['maintenance', '17 3 * * *']]);
    expect(await schedulers(OPS_QUEUES.canary)).toEqual([]);

    const command = { commandId: 'cmd-1', verb: 'backup', by: 'operator', at: new Date().toISOString(), args: {} };
    await observer.publish('command', command);
    await waitFor('backup.completed', () => completed[0], { timeoutMs: 60_000 });
    expect(completed[0]).toMatchObject({ verified: true, database: iso.id, zone: 'backups' });
    expect(completed[0]!.key).toMatch(new RegExp(`^backups/${iso.id}/\\d{8}T\\d{6}Z-manual\\.dump$`));
    expect(completed[0]!.tables['public.files']).toEqual({ source: 0, restored: 0 });

    // Commands of other services are none of the scheduler's business; retries of unknown files do nothing.
    await observer.publish('command', { ...command, commandId: 'cmd-2', verb: 'silence', args: { rule: 'x' } });
    await observer.publish('command', { ...command, commandId: 'cmd-3', verb: 'retry', args: { fileId: 'nope' } });
    await waitFor('the commands handled', async () => {
      const info = await observer.jsm.consumers.info(observer.streamName('OPS'), 'scheduler-commands');
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= 4;
    });
    // The same "back up now" delivered again (a redelivery after a crash) runs no second backup.
    const q = new Queue(OPS_QUEUES.backup, { connection, prefix: iso.queuePrefix });
    cleanups.push(() => q.close());
    await q.add('backup', { kind: 'manual' }, { jobId: 'now-cmd-1' });
    // Completed once; the delayed one is the hourly schedule's next run.
    expect(await q.getJobCounts('completed', 'waiting', 'active', 'delayed')).toMatchObject({ completed: 1, waiting: 0, active: 0, delayed: 1 });
    expect(completed).toHaveLength(1);

    // Turning a schedule off removes it at the next start.
    await service.stop();
    const again = createSchedulerService({ config: loadConfig({ ...env, BACKUP_HOURLY_CRON: 'off', RETENTION_CRON: 'off' }), logger: testLogger('scheduler') });
    cleanups.push(() => again.stop());
    await again.start();
    expect(await schedulers(OPS_QUEUES.backup)).toEqual([]);
    expect(await schedulers(OPS_QUEUES.maintenance)).toEqual([]);
  });
});
