import { FerryError, pgConnectionString } from '@ferry/common';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { OutputTail } from '../domain/output-tail.js';

/** pg_dump, pg_restore or a query on the way failed; the message carries the tool's last words. */
export class PgToolError extends FerryError {}

/**
 * The folder holding pg_dump and pg_restore: `configured` (PG_BIN_DIR) when set, else
 * the folder of `pg_dump` on PATH, else the newest /usr/lib/postgresql/<version>/bin.
 * pg_dump must be at least as new as the server it dumps.
 */
export function findPgBinDir(configured?: string): string {
  if (configured) {
    if (!existsSync(join(configured, 'pg_dump'))) throw new PgToolError(`PG_BIN_DIR ${configured} holds no pg_dump`);
    return configured;
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' });
  const onPath = which.stdout.trim();
  if (which.status === 0 && onPath) return onPath.slice(0, onPath.lastIndexOf('/')) || '/';
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const newest = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_dump')))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (newest) return join(root, newest, 'bin');
  }
  throw new PgToolError('pg_dump not found: install the PostgreSQL client (Debian: postgresql-client) or set PG_BIN_DIR');
}

/** The URL without its password, and the password for PGPASSWORD: a password on a command line shows in `ps`. */
export function splitPassword(url: string): { url: string; password: string | undefined } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), password };
}

/** The database name of a PostgreSQL URL. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

/** The URL of another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Runs a PostgreSQL client tool; rejects with its exit status and the end of its stderr. */
export function runPgTool(binDir: string, tool: 'pg_dump' | 'pg_restore', args: string[], options: { password?: string | undefined; timeoutMs: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const stderr = new OutputTail(2048);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', PGCONNECT_TIMEOUT: '15' };
    if (options.password !== undefined) env.PGPASSWORD = options.password;
    const child = spawn(join(binDir, tool), args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    const timer = setTimeout(() => {
      stderr.push(`\n${tool} timed out after ${options.timeoutMs} ms`);
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new PgToolError(`cannot run ${tool}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new PgToolError(`${tool} failed (${code !== null ? `exit code ${code}` : `signal ${signal}`}): ${stderr.toString().trim()}`));
    });
  });
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Exact row counts of every user table (`schema.table`), by `select count(*)`: the
 * figures a restored copy must match. Run inside the caller's transaction, if any.
 */
export async function countRows(client: pg.ClientBase): Promise<Record<string, number>> {
  const tables = await client.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
      order by 1, 2`,
  );
  const counts: Record<string, number> = {};
  for (const t of tables.rows) {
    const r = await client.query<{ n: string }>(`select count(*)::text as n from ${ident(t.schema)}.${ident(t.name)}`);
    counts[`${t.schema}.${t.name}`] = Number(r.rows[0]?.n ?? 0);
  }
  return counts;
}

/** Connects a single client; the caller ends it. */
export async function connect(url: string): Promise<pg.Client> {
  // libpq's meaning of sslmode, as pg_dump and pg_restore read the same URL.
  const client = new pg.Client({ connectionString: pgConnectionString(url), application_name: 'ferry-scheduler' });
  // A server that goes away mid-query is reported on the query; this keeps it from crashing the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
