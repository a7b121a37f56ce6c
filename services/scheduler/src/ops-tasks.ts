import { errorMessage, pgConnectionString, type Bus, type Logger, type ZoneConfig } from '@ferry/common';
import pg from 'pg';
import { createBackups, type Backups } from './adapters/backups.js';
import { createCanary } from './adapters/canary.js';
import { findPgBinDir } from './adapters/pg-tools.js';
import { abortStaleUploads, deleteExpiredObjects, deleteOldRows } from './adapters/retention.js';
import { openZoneStore, zoneKey, type ZoneStore } from './adapters/zone-store.js';
import type { SchedulerConfig } from './config.js';
import type { BackupKind } from './domain/backup-policy.js';
import type { OpsHandler, OpsQueue, OpsSchedule } from './operations.js';

/** The operations a configuration asks for. */
export interface OpsTasks {
  schedules: OpsSchedule[];
  handlers: Partial<Record<OpsQueue, OpsHandler>>;
  /** Set when backups are configured. */
  backups?: Backups | undefined;
  close(): Promise<void>;
}

/** Everything the maintenance task does in one run. */
export interface MaintenanceReport {
  rows?: Record<string, number | string>;
  scratch?: { deleted: number; kept: number; failed: number };
  multipart: Record<string, number | string>;
  errors: string[];
}

/** Options for {@link opsTasksFromConfig}. */
export interface OpsTasksOptions {
  config: SchedulerConfig;
  bus: Bus;
  logger: Logger;
  version: string;
}

/**
 * Builds the schedules and task handlers from the settings: backups (hourly and nightly,
 * verified, pruned), maintenance (old timeline and request-statistics rows, expired
 * scratch objects, stale multipart uploads) and the canary. What is not configured is
 * not scheduled.
 */
export function opsTasksFromConfig(options: OpsTasksOptions): OpsTasks {
  const { config, bus, logger } = options;
  const schedules: OpsSchedule[] = [];
  const handlers: Partial<Record<OpsQueue, OpsHandler>> = {};
  const closers: (() => Promise<void> | void)[] = [];

  let backups: Backups | undefined;
  const backupZone = config.zones.backups;
  if (config.BACKUP_DATABASE_URL && backupZone) {
    backups = createBackups({
      settings: {
        databaseUrl: config.BACKUP_DATABASE_URL,
        verifyUrl: config.BACKUP_VERIFY_URL,
        zone: backupZone,
        binDir: findPgBinDir(config.PG_BIN_DIR),
        workDir: config.BACKUP_WORK_DIR,
        verify: config.BACKUP_VERIFY,
        timeoutMs: config.BACKUP_TIMEOUT,
        policy: { hourly: config.BACKUP_KEEP_HOURLY, daily: config.BACKUP_KEEP_DAILY, weekly: config.BACKUP_KEEP_WEEKLY, keepFailedMs: config.BACKUP_KEEP_FAILED },
      },
      bus,
      logger: logger.child({ component: 'backups' }),
    });
    const b = backups;
    closers.push(() => b.close());
    if (config.BACKUP_HOURLY_CRON) schedules.push({ id: 'backup-hourly', queue: 'backup', pattern: config.BACKUP_HOURLY_CRON, tz: config.BACKUP_TZ, task: 'backup', data: { kind: 'hourly' } });
    if (config.BACKUP_NIGHTLY_CRON) schedules.push({ id: 'backup-nightly', queue: 'backup', pattern: config.BACKUP_NIGHTLY_CRON, tz: config.BACKUP_TZ, task: 'backup', data: { kind: 'nightly' } });
    handlers.backup = async (_task, data) => {
      const kind: BackupKind = data.kind === 'hourly' || data.kind === 'nightly' ? data.kind : 'manual';
      const event = await b.run(kind);
      const deleted = await b.prune();
      // A backup that did not verify fails the BullMQ job too, so it shows in the queue's failures.
      if (!event.verified && config.BACKUP_VERIFY) throw new Error(`backup ${event.key} not verified: ${event.error ?? 'unknown reason'}`);
      return { key: event.key, verified: event.verified, size: event.size, deleted };
    };
  }

  // Zones whose multipart leftovers are aborted: every zone this scheduler knows.
  const stores = new Map<string, ZoneStore>();
  for (const zone of [config.zones.default, config.zones.scratch, backupZone].filter((z): z is ZoneConfig => z !== undefined)) {
    if (!stores.has(zone.name)) stores.set(zone.name, openZoneStore(zone));
  }
  closers.push(() => {
    for (const s of stores.values()) s.close();
  });
  let pool: pg.Pool | undefined;
  if (config.DATABASE_URL) {
    pool = new pg.Pool({ connectionString: pgConnectionString(config.DATABASE_URL), max: 2, application_name: 'ferry-scheduler-retention' });
    pool.on('error', () => undefined);
    const p = pool;
    closers.push(() => p.end());
  }
  if (config.RETENTION_CRON && (pool || stores.size > 0)) {
    schedules.push({ id: 'maintenance', queue: 'maintenance', pattern: config.RETENTION_CRON, tz: config.BACKUP_TZ, task: 'maintenance' });
    handlers.maintenance = async () => {
      const now = new Date();
      const report: MaintenanceReport = { multipart: {}, errors: [] };
      const step = async (name: string, fn: () => Promise<void>) => {
        try {
          await fn();
        } catch (err) {
          report.errors.push(`${name}: ${errorMessage(err)}`);
          logger.error({ step: name, err: errorMessage(err) }, 'maintenance step failed; carrying on');
        }
      };
      if (pool) {
        const p = pool;
        await step('rows', async () => {
          report.rows = await deleteOldRows({
            pool: p,
            now,
            rules: [
              { table: 'file_events', column: 'at', maxAgeMs: config.FILE_EVENTS_RETENTION },
              { table: 'request_stats', maxAgeMs: config.REQUEST_STATS_RETENTION },
            ],
            batchSize: config.RETENTION_BATCH_SIZE,
            pauseMs: config.RETENTION_PAUSE,
            logger,
          });
        });
      }
      const scratch = config.zones.scratch;
      if (scratch) {
        await step('scratch', async () => {
          const r = await deleteExpiredObjects({ store: stores.get(scratch.name)!, prefix: zoneKey(scratch, ''), maxAgeMs: config.SCRATCH_RETENTION, now, logger });
          report.scratch = { deleted: r.deleted.length, kept: r.kept, failed: r.failed };
        });
      }
      for (const [name, store] of stores) {
        await step(`multipart ${name}`, async () => {
          const r = await abortStaleUploads({ store, prefix: zoneKey(store.zone, ''), maxAgeMs: config.MULTIPART_MAX_AGE, now, logger });
          report.multipart[name] = r.unsupported ? `unsupported by the store` : r.aborted;
        });
      }
      if (report.errors.length > 0) throw new Error(`maintenance: ${report.errors.join('; ')}`);
      return report;
    };
  }

  if (config.CANARY_INTERVAL && config.CANARY_DIR) {
    const canary = createCanary({
      bus,
      dir: config.CANARY_DIR,
      instrument: config.CANARY_INSTRUMENT,
      limitMs: config.CANARY_LIMIT,
      intervalMs: config.CANARY_INTERVAL,
      instance: config.FERRY_INSTANCE,
      version: options.version,
      logger: logger.child({ component: 'canary' }),
    });
    schedules.push({ id: 'canary', queue: 'canary', everyMs: config.CANARY_INTERVAL, task: 'canary' });
    handlers.canary = () => canary.check();
  }

  return {
    schedules,
    handlers,
    backups,
    async close() {
      for (const c of closers) {
        try {
          await c();
        } catch (err) {
          logger.warn({ err: errorMessage(err) }, 'closing an operations resource failed');
        }
      }
    },
  };
}
