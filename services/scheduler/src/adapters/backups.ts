import { errorMessage, EVENTS, hashFile, META, type Bus, type EventOf, type Logger, type ZoneConfig } from '@ferry/common';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupBaseKey, backupsToDelete, parseBackupKey, type BackupKind, type BackupPolicy } from '../domain/backup-policy.js';
import { connect, countRows, databaseName, ident, runPgTool, splitPassword, withDatabase } from './pg-tools.js';
import { schedulerMetrics } from '../metrics.js';
import { openZoneStore, zoneKey, type ZoneStore } from './zone-store.js';

/** The SHA-256 of nothing: what a backup that produced no file reports. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Metadata keys of a backup object, beside Ferry's usual `ferry-sha256` and `ferry-size`. */
export const BACKUP_META = { database: 'ferry-database', kind: 'ferry-backup-kind' } as const;

/** Settings of {@link createBackups}. */
export interface BackupSettings {
  /** The database to back up. */
  databaseUrl: string;
  /** A server where scratch databases can be created for verification (default: the source's server). */
  verifyUrl?: string | undefined;
  zone: ZoneConfig;
  /** Folder of pg_dump and pg_restore. */
  binDir: string;
  /** Where dumps are written before upload (default: the system's temporary folder). */
  workDir?: string | undefined;
  /** Restore each backup into a scratch database and compare row counts (default true). */
  verify?: boolean;
  /** Longest a pg_dump or pg_restore may run (default 6 h). */
  timeoutMs?: number;
  policy: BackupPolicy;
}

/** The outcome of verifying one stored backup. */
export interface Verification {
  verified: boolean;
  tables: Record<string, { source: number; restored: number }>;
  error?: string;
}

/** One backup as `list()` shows it. */
export interface BackupListing {
  key: string;
  kind: string;
  at: Date;
  size: number;
  /** The report written after verification, when there is one. */
  report?: EventOf<'backup.completed'> | undefined;
}

/** Backups of one database into one zone. */
export interface Backups {
  readonly database: string;
  /** Dumps, stores, verifies, publishes `backup.completed` and applies the retention policy. */
  run(kind: BackupKind, now?: Date): Promise<EventOf<'backup.completed'>>;
  /** Downloads a stored backup, checks its SHA-256, restores it into a scratch database and compares row counts. */
  verify(key: string, sourceCounts: Record<string, number>): Promise<Verification>;
  /** Deletes what the policy no longer keeps; returns the deleted keys. */
  prune(now?: Date): Promise<string[]>;
  /** Every stored backup of the database, newest first. */
  list(): Promise<BackupListing[]>;
  close(): void;
}

/** Every backup stored under `prefix` (all databases under `…/backups/`), newest first, with its report. */
export async function listStoredBackups(store: ZoneStore, prefix: string): Promise<BackupListing[]> {
  const dumps = new Map<string, BackupListing>();
  for await (const page of store.list(prefix)) {
    for (const o of page) {
      const name = parseBackupKey(o.key);
      if (name && o.key.endsWith('.dump')) dumps.set(name.base, { key: o.key, kind: name.kind, at: name.at, size: o.size });
    }
  }
  for (const [base, listing] of dumps) {
    const text = await store.getText(`${base}.json`);
    if (!text) continue;
    const parsed = EVENTS['backup.completed'].schema.safeParse(safeJson(text));
    if (parsed.success) listing.report = parsed.data;
  }
  return [...dumps.values()].sort((a, b) => b.at.getTime() - a.at.getTime() || (a.key < b.key ? 1 : -1));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Options for {@link createBackups}. */
export interface BackupsOptions {
  settings: BackupSettings;
  /** Where `backup.completed` goes; none in the CLI. */
  bus?: Bus | undefined;
  logger: Logger;
  store?: ZoneStore;
}

/** Creates the backup component. */
export function createBackups(options: BackupsOptions): Backups {
  const { settings, logger } = options;
  const store = options.store ?? openZoneStore(settings.zone);
  const database = databaseName(settings.databaseUrl);
  const timeoutMs = settings.timeoutMs ?? 6 * 3_600_000;
  const prefix = zoneKey(settings.zone, `backups/${database.replace(/[^A-Za-z0-9_.-]/g, '_')}/`);
  const workDir = () => mkdtemp(join(settings.workDir ?? tmpdir(), 'ferry-backup-'));

  /** pg_dump in custom format, and the exact row counts, both from one snapshot. */
  const dump = async (file: string): Promise<Record<string, number>> => {
    const client = await connect(settings.databaseUrl);
    try {
      // The counts and the dump see the same snapshot, so a busy source still verifies exactly.
      await client.query('begin isolation level repeatable read read only');
      const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]?.id ?? '';
      const counts = await countRows(client);
      const { url, password } = splitPassword(settings.databaseUrl);
      await runPgTool(settings.binDir, 'pg_dump', ['--format=custom', `--snapshot=${snapshot}`, `--file=${file}`, `--dbname=${url}`], { password, timeoutMs });
      await client.query('commit');
      return counts;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const verify = async (key: string, sourceCounts: Record<string, number>): Promise<Verification> => {
    const dir = await workDir();
    const scratch = `ferry_verify_${randomBytes(6).toString('hex')}`;
    const serverUrl = settings.verifyUrl ?? settings.databaseUrl;
    let admin: Awaited<ReturnType<typeof connect>> | undefined;
    let created = false;
    const tables: Verification['tables'] = {};
    for (const [name, source] of Object.entries(sourceCounts)) tables[name] = { source, restored: 0 };
    try {
      const file = join(dir, 'backup.dump');
      const got = await store.download(key, file);
      const expected = got.metadata[META.sha256];
      if (!expected) return { verified: false, tables, error: `${key} has no ${META.sha256} metadata` };
      if (got.sha256 !== expected) return { verified: false, tables, error: `SHA-256 mismatch: stored ${expected}, downloaded ${got.sha256} (${got.size} bytes)` };
      admin = await connect(serverUrl);
      await admin.query(`create database ${ident(scratch)} template template0`);
      created = true;
      const { url, password } = splitPassword(withDatabase(serverUrl, scratch));
      try {
        await runPgTool(settings.binDir, 'pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${url}`, file], { password, timeoutMs });
      } catch (err) {
        return { verified: false, tables, error: `restore failed: ${errorMessage(err)}` };
      }
      const restoredClient = await connect(withDatabase(serverUrl, scratch));
      let restored: Record<string, number>;
      try {
        restored = await countRows(restoredClient);
      } finally {
        await restoredClient.end().catch(() => undefined);
      }
      const problems: string[] = [];
      for (const [name, n] of Object.entries(restored)) {
        if (!(name in tables)) problems.push(`${name} is not in the source`);
        tables[name] = { source: tables[name]?.source ?? 0, restored: n };
      }
      for (const [name, t] of Object.entries(tables)) {
        if (!(name in restored)) problems.push(`${name} is missing`);
        else if (t.source !== t.restored) problems.push(`${name} has ${t.restored} rows, the source ${t.source}`);
      }
      return problems.length === 0 ? { verified: true, tables } : { verified: false, tables, error: `row counts differ: ${problems.slice(0, 10).join('; ')}` };
    } catch (err) {
      return { verified: false, tables, error: `verification failed: ${errorMessage(err)}` };
    } finally {
      if (admin) {
        if (created) {
          await admin.query(`drop database if exists ${ident(scratch)} with (force)`).catch((err: unknown) => logger.warn({ scratch, err: errorMessage(err) }, 'could not drop the scratch database'));
        }
        await admin.end().catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    }
  };

  const list = () => listStoredBackups(store, prefix);

  const prune = async (now = new Date()): Promise<string[]> => {
    const listed = await list();
    const doomed = new Set(backupsToDelete(listed.map((b) => ({ id: b.key, at: b.at, verified: b.report?.verified === true })), settings.policy, now));
    const keys = listed.filter((b) => doomed.has(b.key)).flatMap((b) => [b.key, b.key.replace(/\.dump$/, '.json')]);
    for (let i = 0; i < keys.length; i += 1000) {
      const errors = await store.deleteMany(keys.slice(i, i + 1000));
      for (const e of errors) logger.warn(e, 'could not delete an old backup');
    }
    if (doomed.size > 0) logger.info({ deleted: [...doomed] }, 'old backups deleted');
    return [...doomed];
  };

  return {
    database,
    verify,
    prune,
    list,
    async run(kind, now = new Date()) {
      const startedAt = now.toISOString();
      const base = zoneKey(settings.zone, backupBaseKey(database, now, kind));
      const key = `${base}.dump`;
      const backupId = base.slice(base.lastIndexOf('backups/') + 'backups/'.length).replace(/\//g, '-');
      const dir = await workDir();
      let size = 0;
      let sha256 = EMPTY_SHA256;
      let verification: Verification = { verified: false, tables: {} };
      let stored = false;
      try {
        const file = join(dir, 'backup.dump');
        const counts = await dump(file);
        ({ size, sha256 } = await hashFile(file));
        await store.putFile(key, file, { [META.sha256]: sha256, [META.size]: String(size), [BACKUP_META.database]: database, [BACKUP_META.kind]: kind });
        stored = true;
        await rm(file, { force: true });
        logger.info({ key, size }, 'backup stored');
        verification =
          settings.verify === false
            ? { verified: false, tables: Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, { source: n, restored: 0 }])), error: 'verification is turned off (BACKUP_VERIFY=false)' }
            : await verify(key, counts);
      } catch (err) {
        verification = { ...verification, error: `backup failed: ${errorMessage(err)}` };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const event: EventOf<'backup.completed'> = {
        backupId,
        database,
        zone: settings.zone.name,
        key,
        size,
        sha256,
        verified: verification.verified,
        tables: verification.tables,
        startedAt,
        finishedAt: new Date().toISOString(),
        ...(verification.error ? { error: verification.error } : {}),
      };
      if (size > 0) {
        // The report beside the dump: list-backups and the retention policy read it.
        await store.putText(`${base}.json`, JSON.stringify(event, null, 2)).catch((err: unknown) => logger.warn({ key, err: errorMessage(err) }, 'could not store the backup report'));
      }
      if (event.verified) logger.info({ key, size, tables: Object.keys(event.tables).length }, 'backup verified');
      else logger.error({ key, error: event.error }, 'backup not verified');
      schedulerMetrics.backups.inc({ outcome: !stored ? 'failed' : event.verified ? 'verified' : 'unverified' });
      // With verification turned off, a stored backup is as good as it gets: the alert on this gauge still works.
      if (event.verified || (stored && settings.verify === false)) schedulerMetrics.backupLastSuccess.set(Date.parse(event.finishedAt) / 1000);
      await options.bus?.publish('backup.completed', event);
      return event;
    },
    close() {
      store.close();
    },
  };
}
