import { createDatabase } from '@ferry/common';
import { startPostgres, type PostgresServer } from '@ferry/testkit';
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type TestPki } from './certs.js';

const run = promisify(execFile);

let server: PostgresServer;
let dir: string;
let pki: TestPki;

const base = () => `postgres://postgres@127.0.0.1:${server.port}/postgres`;

/** Whether the session runs over TLS, through createDatabase (what every service uses). */
async function sessionTls(url: string): Promise<boolean | string> {
  const db = createDatabase({ url, maxConnections: 1 });
  try {
    const r = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(db);
    return r.rows[0]?.ssl ?? 'no row';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await db.destroy();
  }
}

beforeAll(async () => {
  server = await startPostgres();
  dir = await mkdtemp(join(tmpdir(), 'ferry-deploy-pgtls-'));
  await chmod(dir, 0o755);
  pki = await makePki(dir);
  // PostgreSQL insists on a key only its own user can read.
  const key = join(dir, 'postgres.key');
  await copyFile(pki.serverKey, key);
  await chmod(key, 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(key, uid, gid);
  }
  await chmod(pki.serverCert, 0o644);
  // What POSTGRES_SSL=on does in docker-compose.yml, here on a running server.
  const admin = new pg.Client({ connectionString: base() });
  await admin.connect();
  try {
    await admin.query(`alter system set ssl_cert_file = '${pki.serverCert}'`);
    await admin.query(`alter system set ssl_key_file = '${key}'`);
    await admin.query(`alter system set ssl = on`);
    await admin.query('select pg_reload_conf()');
  } finally {
    await admin.end();
  }
  const deadline = Date.now() + 10_000;
  while ((await sessionTls(`${base()}?sslmode=require`)) !== true) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not turn TLS on:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PostgreSQL over TLS (sslmode and sslrootcert in DATABASE_URL)', () => {
  it('verify-full with the CA connects over TLS; a CA that did not sign the certificate is refused', async () => {
    expect(await sessionTls(`${base()}?sslmode=verify-full&sslrootcert=${pki.ca}`)).toBe(true);
    expect(await sessionTls(`${base()}?sslmode=verify-full&sslrootcert=${pki.otherCa}`)).toMatch(/certificate/i);
  });

  it('the URL means what it means to psql and pg_dump (libpq): require encrypts without verifying, disable does not encrypt', async () => {
    expect(await sessionTls(`${base()}?sslmode=require`)).toBe(true);
    expect(await sessionTls(`${base()}?sslmode=disable`)).toBe(false);
    // pg on its own would read require as verify-full and refuse the self-signed chain.
    const plain = new pg.Client({ connectionString: `${base()}?sslmode=require` });
    await expect(plain.connect()).rejects.toThrow(/certificate/i);
    await plain.end().catch(() => undefined);
  });

  it('libpq (psql, and so the scheduler’s pg_dump) reads the same URL the same way', async () => {
    const psql = join(server.binDir, 'psql');
    const query = ['-Atc', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'];
    expect((await run(psql, [`${base()}?sslmode=verify-full&sslrootcert=${pki.ca}`, ...query])).stdout.trim()).toBe('t');
    await expect(run(psql, [`${base()}?sslmode=verify-full&sslrootcert=${pki.otherCa}`, ...query])).rejects.toMatchObject({ stderr: expect.stringMatching(/certificate/i) });
  });
});
