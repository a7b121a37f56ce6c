import { createDatabase, migrateToLatest, type Database } from '@ferry/common';
import { createSilence, expireSilence } from '@ferry/monitor';
import { createBackups, DEFAULT_BACKUP_POLICY } from '@ferry/scheduler';
import { startPostgres, testLogger, type PostgresServer } from '@ferry/testkit';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomPassword } from './nats-server.js';
import { deployDir } from './paths.js';

const run = promisify(execFile);

// The test kit's PostgreSQL trusts local connections, so passwords are not checked here:
// what is shown is what each role may do once logged in.
const passwords = {
  POSTGRES_MONITOR_PASSWORD: randomPassword(),
  POSTGRES_GATEWAY_PASSWORD: randomPassword(),
  POSTGRES_SCHEDULER_PASSWORD: randomPassword(),
};

let server: PostgresServer;
let scratch: string;
const pools: Kysely<Database>[] = [];

const url = (role: string, database = 'ferry') => `postgres://${role}@127.0.0.1:${server.port}/${database}`;
function connect(role: string, database = 'ferry'): Kysely<Database> {
  const db = createDatabase({ url: url(role, database), maxConnections: 2 });
  pools.push(db);
  return db;
}

/** deploy/postgres/init-roles.sh, as the Compose postgres service runs it at its first start. */
function initRoles(database: string, env: Record<string, string> = passwords) {
  return run('sh', [join(deployDir, 'postgres', 'init-roles.sh')], {
    env: { PATH: `${server.binDir}:${process.env.PATH}`, PGHOST: '127.0.0.1', PGPORT: String(server.port), POSTGRES_USER: 'postgres', POSTGRES_DB: database, ...env },
  });
}

/** deploy/postgres/migrate.mjs, as the Compose service `migrate` runs it. */
function migrate(role: string, database = 'ferry') {
  return run(process.execPath, [join(deployDir, 'postgres', 'migrate.mjs')], { env: { PATH: process.env.PATH, DATABASE_URL: url(role, database), MIGRATE_WAIT: '5s' } });
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function attempt(db: Kysely<Database>, statement: string): Promise<string> {
  try {
    await sql.raw(statement).execute(db);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function tables(db: Kysely<Database>): Promise<string[]> {
  const r = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' order by tablename`.execute(db);
  return r.rows.map((row) => row.tablename);
}

async function firstColumn(db: Kysely<Database>, table: string): Promise<string> {
  const r = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = 'public' and table_name = ${table} order by ordinal_position limit 1`.execute(db);
  return r.rows[0]?.column_name ?? 'missing';
}

async function createDatabaseAsSuperuser(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
}

const DENIED = '42501';
// Written by the gateway or the scheduler; everything else belongs to the monitor alone.
const NOT_MONITOR_ONLY = new Set(['api_tokens', 'sessions', 'request_stats', 'silences']);

beforeAll(async () => {
  server = await startPostgres();
  scratch = await mkdtemp(join(tmpdir(), 'ferry-deploy-pg-'));
  await createDatabaseAsSuperuser('ferry');
  await initRoles('ferry');
  await migrate('ferry_monitor');
});

afterAll(async () => {
  await Promise.allSettled(pools.map((db) => db.destroy()));
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('deploy/postgres: roles and grants', () => {
  it('init-roles.sh refuses to run without the passwords', async () => {
    const { POSTGRES_GATEWAY_PASSWORD: _gone, ...rest } = passwords;
    await expect(initRoles('ferry', rest)).rejects.toMatchObject({ code: 78, stderr: expect.stringContaining('POSTGRES_GATEWAY_PASSWORD is not set') });
  });

  it('the migrations ran as ferry_monitor, which owns every table and writes the state', async () => {
    const monitor = connect('ferry_monitor');
    const owners = await sql<{ tablename: string; tableowner: string }>`select tablename, tableowner from pg_tables where schemaname = 'public'`.execute(monitor);
    expect(owners.rows.length).toBeGreaterThan(10);
    expect(owners.rows.filter((r) => r.tableowner !== 'ferry_monitor')).toEqual([]);
    // Raw SQL: what matters is the role, not the projection's code.
    await sql`insert into files (id, instrument, path, root, kind, size, sha256, status, mtime, detected_at, updated_at)
              values ('f1', 'demo', 'a.raw', '/i', 'file', 1, ${'a'.repeat(64)}, 'detected', now(), now(), now())`.execute(monitor);
    await sql`update files set status = 'stored' where id = 'f1'`.execute(monitor);
    await sql`insert into file_events (file_id, event_id, event, at) values ('f1', 'e-old', 'file.detected', now() - interval '400 days'), ('f1', 'e-new', 'upload.done', now())`.execute(monitor);
  });

  it("the gateway reads every table but cannot write what the monitor owns, nor change the schema", async () => {
    const gateway = connect('ferry_gateway');
    const monitorOnly = (await tables(gateway)).filter((t) => !NOT_MONITOR_ONLY.has(t));
    expect(monitorOnly).toEqual(expect.arrayContaining(['files', 'file_events', 'jobs', 'components', 'alerts', 'backups', 'zones', 'dead_letters', 'kysely_migration']));
    const outcomes: Record<string, string[]> = {};
    for (const t of monitorOnly) {
      outcomes[t] = [
        await attempt(gateway, `select count(*) from "${t}"`),
        await attempt(gateway, `insert into "${t}" default values`),
        await attempt(gateway, `update "${t}" set "${await firstColumn(gateway, t)}" = "${await firstColumn(gateway, t)}" where false`),
        await attempt(gateway, `delete from "${t}"`),
        await attempt(gateway, `truncate "${t}"`),
      ];
    }
    expect(outcomes).toEqual(Object.fromEntries(monitorOnly.map((t) => [t, ['ok', DENIED, DENIED, DENIED, DENIED]])));
    // Text search goes through the path-gram index's function (migration 0006).
    expect(await attempt(gateway, `select id from files where ferry_path_grams(lower(path) collate "C") @> array['a.r']::text[] collate "C"`)).toBe('ok');
    expect(await attempt(gateway, 'create table mine (i int)')).toBe(DENIED);
    expect(await attempt(gateway, 'drop table files')).toBe(DENIED);
    expect(await attempt(gateway, 'alter table files add column x int')).toBe(DENIED);
  });

  it('the gateway writes what is its own: tokens, sessions, request statistics and silences', async () => {
    const gateway = connect('ferry_gateway');
    await gateway.insertInto('api_tokens').values({ id: 't1', name: 'alice', role: 'viewer', token_hash: 'h1' }).execute();
    await gateway.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', 't1').execute();
    const silence = await createSilence(gateway, { matchers: ['alertname="disk_low"'], endsAt: new Date(Date.now() + 3_600_000), createdBy: 'alice' });
    expect(await expireSilence(gateway, silence.id)).toBe(true);
    const present = new Set(await tables(gateway));
    if (present.has('sessions')) {
      expect(await attempt(gateway, `insert into sessions (id, token_id, expires_at) values ('s1', 't1', now() + interval '1 hour')`)).toBe('ok');
      expect(await attempt(gateway, `delete from sessions where id = 's1'`)).toBe('ok');
    }
    if (present.has('request_stats')) {
      const upsert = `insert into request_stats (hour, route, method, status, client, count, total_ms) values (date_trunc('hour', now()), '/api/v1/files', 'GET', 200, 'alice', 1, 2.5)
        on conflict (hour, route, method, status, client) do update set count = request_stats.count + excluded.count, total_ms = request_stats.total_ms + excluded.total_ms`;
      expect([await attempt(gateway, upsert), await attempt(gateway, upsert)]).toEqual(['ok', 'ok']);
    }
    // Deleting tokens is not among them: revoking sets revoked_at.
    expect(await attempt(gateway, `delete from api_tokens`)).toBe(DENIED);
  });

  it("the gateway's start (migrateToLatest on a current schema) works with its role", async () => {
    await expect(migrateToLatest(connect('ferry_gateway'))).resolves.toEqual([]);
  });

  it('the scheduler deletes old timeline rows (retention) and writes nothing else', async () => {
    const scheduler = connect('ferry_scheduler');
    // The statement of the scheduler's retention (services/scheduler/src/adapters/retention.ts).
    const deleted = await sql`delete from file_events where ctid = any(array(select ctid from file_events where at < now() - interval '90 days' limit 5000))`.execute(scheduler);
    expect(Number(deleted.numAffectedRows)).toBe(1);
    if ((await tables(scheduler)).includes('request_stats')) {
      expect(await attempt(scheduler, `delete from request_stats where hour < now() - interval '30 days'`)).toBe('ok');
    }
    expect(await attempt(scheduler, `delete from files`)).toBe(DENIED);
    expect(await attempt(scheduler, `insert into file_events default values`)).toBe(DENIED);
    expect(await attempt(scheduler, `update file_events set event = event`)).toBe(DENIED);
    expect(await attempt(scheduler, `create table mine (i int)`)).toBe(DENIED);
  });

  it('the scheduler backs up and verifies the database with its own role (pg_dump, restore into a scratch database)', async () => {
    const backups = createBackups({
      settings: {
        databaseUrl: url('ferry_scheduler'),
        zone: { name: 'backups', kind: 'local', dir: join(scratch, 'backups'), prefix: '' },
        binDir: server.binDir,
        workDir: scratch,
        policy: DEFAULT_BACKUP_POLICY,
      },
      logger: testLogger('scheduler'),
    });
    try {
      const report = await backups.run('manual');
      expect(report.error).toBeUndefined();
      expect(report).toMatchObject({ verified: true });
      expect(Object.entries(report.tables).find(([t]) => /(^|\.)files$/.test(t))?.[1]).toEqual({ source: 1, restored: 1 });
    } finally {
      backups.close();
    }
  });

  it('init-roles.sh and migrate.mjs can run again (password change, upgrade)', async () => {
    await initRoles('ferry', { ...passwords, POSTGRES_GATEWAY_PASSWORD: randomPassword() });
    const { stdout } = await migrate('ferry_monitor');
    expect(stdout).toContain('migrate: the schema is up to date');
    expect(stdout).toContain('migrate: grants applied');
    expect(await attempt(connect('ferry_gateway'), `insert into files default values`)).toBe(DENIED);
  });

  it('an existing database whose tables the superuser made is taken over by the monitor', async () => {
    // Before these roles, every service logged in as the superuser.
    await createDatabaseAsSuperuser('legacy');
    const superuser = connect('postgres', 'legacy');
    await migrateToLatest(superuser);
    await initRoles('legacy');
    const owners = await sql<{ tableowner: string }>`select distinct tableowner from pg_tables where schemaname = 'public'`.execute(superuser);
    expect(owners.rows.map((r) => r.tableowner)).toEqual(['ferry_monitor']);
    expect(await attempt(connect('ferry_gateway', 'legacy'), 'select count(*) from files')).toBe('ok');
    expect(await attempt(connect('ferry_gateway', 'legacy'), 'insert into files default values')).toBe(DENIED);
    expect(await attempt(connect('ferry_gateway', 'legacy'), `insert into api_tokens (id, name, role, token_hash) values ('t', 'n', 'admin', 'h')`)).toBe('ok');
    await expect(migrate('ferry_monitor', 'legacy')).resolves.toMatchObject({ stdout: expect.stringContaining('up to date') });
  });
});
