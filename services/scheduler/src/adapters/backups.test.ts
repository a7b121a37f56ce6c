import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus, META, metricsRegistry, type EventOf, type S3ZoneConfig } from '@ferry/common';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { DEFAULT_BACKUP_POLICY } from '../domain/backup-policy.js';
import { createBackups, type Backups } from './backups.js';
import { openZoneStore, type ZoneStore } from './zone-store.js';
import { waitFor } from '../testing/harness.js';

/** Fills a few state tables so the counts mean something. */
async function seed(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`insert into file_events (file_id, event_id, event, at)
      select 'f' || (i % 7), 'e' || i, 'upload.done', now() - i * interval '1 minute' from generate_series(1, 123) i`);
    await client.query(`insert into dead_letters (id, stream, consumer, subject, reason, error, data, at)
      values ('d1', 'FILES', 'c', 's', 'invalid', 'e', '{}', now()), ('d2', 'FILES', 'c', 's', 'invalid', 'e', '{}', now())`);
  } finally {
    await client.end();
  }
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('database backups with real pg_dump and pg_restore', () => {
  let iso: Isolated;
  let zone: S3ZoneConfig;
  let store: ZoneStore;
  let bus: Bus;
  let backups: Backups;
  let first: EventOf<'backup.completed'>;
  const published: EventOf<'backup.completed'>[] = [];
  let s3: S3Client;

  beforeAll(async () => {
    iso = await isolate('backup');
    await seed(iso.databaseUrl);
    zone = { ...iso.zone, name: 'backups', prefix: 'ops' };
    store = openZoneStore(zone);
    s3 = new S3Client({ endpoint: zone.endpoint, region: zone.region, forcePathStyle: true, credentials: { accessKeyId: zone.accessKeyId!, secretAccessKey: zone.secretAccessKey! } });
    bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'backup-test', service: 'scheduler', logger: testLogger('scheduler') });
    await bus.ensureStreams();
    await bus.consume({
      stream: 'OPS',
      durable: 'observer',
      filter: 'backup.>',
      events: ['backup.completed'],
      handler: (m) => {
        published.push(m.event);
        return Promise.resolve();
      },
    });
    backups = createBackups({
      settings: { databaseUrl: iso.databaseUrl, zone, binDir: iso.servers.postgresBinDir, policy: DEFAULT_BACKUP_POLICY },
      bus,
      logger: testLogger('scheduler'),
    });
    first = await backups.run('manual', new Date('2025-06-18T10:00:00Z'));
  }, 120_000);

  afterAll(async () => {
    backups?.close();
    store?.close();
    s3?.destroy();
    await bus?.close();
  });

  it('stores a custom-format dump with its hash, verified by restoring it and counting rows', async () => {
    expect(first.error).toBeUndefined();
    expect(first).toMatchObject({ verified: true, database: iso.id, zone: 'backups', key: `ops/backups/${iso.id}/20250618T100000Z-manual.dump` });
    expect(first.tables['public.file_events']).toEqual({ source: 123, restored: 123 });
    expect(first.tables['public.dead_letters']).toEqual({ source: 2, restored: 2 });
    expect(first.tables['public.files']).toEqual({ source: 0, restored: 0 });
    const head = await store.head(first.key);
    expect(head?.metadata[META.sha256]).toBe(first.sha256);
    expect(head?.size).toBe(first.size);
    // A custom-format archive starts with PGDMP.
    expect((await store.getText(first.key))?.slice(0, 5)).toBe('PGDMP');
    await waitFor('backup.completed on the bus', () => published.find((e) => e.backupId === first.backupId));
    // The scratch database is gone again.
    expect(await query(iso.databaseUrl, "select datname from pg_database where datname like 'ferry_verify_%'")).toEqual([]);
    const listed = await backups.list();
    expect(listed.map((b) => [b.key, b.report?.verified])).toEqual([[first.key, true]]);
  });

  it('detects a backup damaged in storage by its SHA-256', async () => {
    const key = first.key.replace('-manual', '-damaged');
    const body = Buffer.from(await readAll(store, first.key));
    body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    // One byte flipped in the middle; the metadata still holds the original's hash.
    await s3.send(new PutObjectCommand({ Bucket: zone.bucket, Key: key, Body: body, Metadata: { [META.sha256]: first.sha256 } }));
    const sourceCounts = Object.fromEntries(Object.entries(first.tables).map(([t, c]) => [t, c.source]));
    const result = await backups.verify(key, sourceCounts);
    expect(result.verified).toBe(false);
    expect(result.error).toMatch(/^SHA-256 mismatch: stored [0-9a-f]{64}, downloaded [0-9a-f]{64}/);
  });

  it('detects a dump that is broken although stored intact, by failing to restore it', async () => {
    const key = first.key.replace('-manual', '-truncated');
    const body = Buffer.from(await readAll(store, first.key)).subarray(0, 2000);
    await s3.send(new PutObjectCommand({ Bucket: zone.bucket, Key: key, Body: body, Metadata: { [META.sha256]: createHash('sha256').update(body).digest('hex') } }));
    const result = await backups.verify(key, Object.fromEntries(Object.entries(first.tables).map(([t, c]) => [t, c.source])));
    expect(result.verified).toBe(false);
    expect(result.error).toMatch(/^restore failed: pg_restore failed \(exit code 1\)/);
    expect(await query(iso.databaseUrl, "select datname from pg_database where datname like 'ferry_verify_%'")).toEqual([]);
  });

  it('detects row counts that differ from the source', async () => {
    const counts = Object.fromEntries(Object.entries(first.tables).map(([t, c]) => [t, c.source]));
    const result = await backups.verify(first.key, { ...counts, 'public.file_events': 124, 'public.gone': 1 });
    expect(result.verified).toBe(false);
    expect(result.error).toContain('public.file_events has 123 rows, the source 124');
    expect(result.error).toContain('public.gone is missing');
  });

  it('restores a chosen backup with one command, refusing a damaged one', async () => {
    const admin = iso.servers.postgresUrl;
    const target = `${iso.id}_restored`;
    await query(admin, `create database "${target}" template template0`);
    const targetUrl = admin.replace(/\/[^/]*$/, `/${target}`);
    const env = {
      BACKUP_ZONE_BUCKET: zone.bucket,
      BACKUP_ZONE_ENDPOINT: zone.endpoint,
      BACKUP_ZONE_PATH_STYLE: 'true',
      BACKUP_ZONE_PREFIX: 'ops',
      BACKUP_ZONE_ACCESS_KEY_ID: zone.accessKeyId,
      BACKUP_ZONE_SECRET_ACCESS_KEY: zone.secretAccessKey,
      PG_BIN_DIR: iso.servers.postgresBinDir,
    };
    const out: string[] = [];
    const err: string[] = [];
    const cli = (...argv: string[]) => runCli(argv, env, (l) => out.push(l), (l) => err.push(l));

    expect(await cli('list-backups')).toBe(0);
    expect(out.join('\n')).toContain(`2025-06-18T10:00:00.000Z\tmanual\t${first.size}\tyes\t${first.key}`);

    expect(await cli('restore-backup', '--key', first.key.replace('-manual', '-damaged'), '--target-url', targetUrl)).toBe(1);
    expect(err.join('\n')).toMatch(/SHA-256 mismatch/);

    expect(await cli('restore-backup', '--key', first.key, '--target-url', targetUrl)).toBe(0);
    const rows = await query<{ n: string }>(targetUrl, 'select count(*)::text as n from file_events');
    expect(rows[0]?.n).toBe('123');
    // Restoring again over a database that has tables needs --yes; then it replaces them.
    expect(await cli('restore-backup', '--key', first.key, '--target-url', targetUrl)).toBe(1);
    expect(err.join('\n')).toMatch(/--yes/);
    await query(targetUrl, "delete from file_events where event_id like 'e1%'");
    expect(await cli('restore-backup', '--key', first.key, '--target-url', targetUrl, '--yes')).toBe(0);
    expect((await query<{ n: string }>(targetUrl, 'select count(*)::text as n from file_events'))[0]?.n).toBe('123');
    expect(await cli('restore-backup', '--key', 'nope.dump', '--target-url', targetUrl)).toBe(1);
    expect(await cli('frobnicate')).toBe(64);
  });

  it('counts backups by outcome and keeps the time of the last good one for the metrics', async () => {
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await metricsRegistry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(await value('ferry_backups_total', { outcome: 'verified' })).toBeGreaterThanOrEqual(1);
    const lastGood = await value('ferry_backup_last_success_timestamp_seconds');
    expect(lastGood).toBeGreaterThanOrEqual(Date.parse(first.finishedAt) / 1000);
    const failedBefore = (await value('ferry_backups_total', { outcome: 'failed' })) ?? 0;
    const broken = createBackups({
      settings: { databaseUrl: iso.databaseUrl.replace(/\/[^/]*$/, '/no_such_database'), zone, binDir: iso.servers.postgresBinDir, policy: DEFAULT_BACKUP_POLICY },
      logger: testLogger('scheduler'),
    });
    try {
      const event = await broken.run('manual');
      expect(event.verified).toBe(false);
    } finally {
      broken.close();
    }
    expect(await value('ferry_backups_total', { outcome: 'failed' })).toBe(failedBefore + 1);
    expect(await value('ferry_backup_last_success_timestamp_seconds')).toBe(lastGood);
  });

  it('prunes by the retention policy, keeping the newest verified backups', async () => {
    const prefix = `ops/backups/${iso.id}/`;
    const report = (verified: boolean) => JSON.stringify({ ...first, verified });
    const put = async (stamp: string, kind: string, verified: boolean | undefined) => {
      await store.putText(`${prefix}${stamp}-${kind}.dump`, 'PGDMP fake', { [META.sha256]: first.sha256 });
      if (verified !== undefined) await store.putText(`${prefix}${stamp}-${kind}.json`, report(verified));
    };
    // Against the real backup of 2025-06-18 10:00 (verified): hourly slots of 2 keep it and 09:00.
    await put('20250618T090000Z', 'hourly', true);
    await put('20250618T080000Z', 'hourly', true);
    await put('20250618T070000Z', 'hourly', false);
    await put('20250610T070000Z', 'hourly', false);
    await put('20250618T060000Z', 'hourly', undefined);
    const pruner = createBackups({
      settings: { databaseUrl: iso.databaseUrl, zone, binDir: iso.servers.postgresBinDir, policy: { hourly: 2, daily: 0, weekly: 0, keepFailedMs: 2 * 86_400_000 } },
      logger: testLogger('scheduler'),
    });
    try {
      const deleted = await pruner.prune(new Date('2025-06-18T10:30:00Z'));
      expect(deleted.sort()).toEqual([`${prefix}20250610T070000Z-hourly.dump`, `${prefix}20250618T080000Z-hourly.dump`]);
      const left: string[] = [];
      for await (const page of store.list(prefix)) left.push(...page.map((o) => o.key.slice(prefix.length)));
      expect(left.filter((k) => !k.includes('-damaged') && !k.includes('-truncated')).sort()).toEqual([
        '20250618T060000Z-hourly.dump',
        '20250618T070000Z-hourly.dump',
        '20250618T070000Z-hourly.json',
        '20250618T090000Z-hourly.dump',
        '20250618T090000Z-hourly.json',
        '20250618T100000Z-manual.dump',
        '20250618T100000Z-manual.json',
      ]);
    } finally {
      pruner.close();
    }
  });
});

async function readAll(store: ZoneStore, key: string): Promise<Uint8Array> {
  const path = join(tmpdir(), `ferry-read-${Math.random().toString(36).slice(2)}`);
  await store.download(key, path);
  try {
    return await readFile(path);
  } finally {
    await rm(path, { force: true });
  }
}
