import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { FerryError } from '../errors.js';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

/** Options for {@link createDatabase}. */
export interface DatabaseOptions {
  url: string;
  maxConnections?: number;
  /** Shown in pg_stat_activity, e.g. `ferry-monitor`. */
  applicationName?: string;
}

const INT8_OID = 20;
const int8AsNumber = new pg.TypeOverrides();
int8AsNumber.setTypeParser(INT8_OID, (v: string) => Number(v));

/**
 * The connection string for `pg` with libpq's meaning of TLS parameters. TLS is set in the
 * URL, as for `psql` and `pg_dump` (the scheduler's backups pass the same URL to them):
 * `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`), `sslrootcert`
 * (the CA file), `sslcert` and `sslkey` (a client certificate). Without `uselibpqcompat`,
 * `pg` would treat `require` and `verify-ca` as `verify-full` and warn at every connection.
 */
export function pgConnectionString(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('sslmode') || parsed.searchParams.has('uselibpqcompat')) return url;
  parsed.searchParams.set('uselibpqcompat', 'true');
  return parsed.toString();
}

/**
 * A Kysely instance on a `pg` pool. `bigint` columns come back as numbers: sizes up to
 * 2^53 bytes (8 PiB) are exact. TLS comes from the URL (see {@link pgConnectionString}),
 * e.g. `postgres://ferry_monitor:…@db:5432/ferry?sslmode=verify-full&sslrootcert=/etc/ferry/tls/ca.crt`.
 */
export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: pgConnectionString(options.url),
    max: options.maxConnections ?? 10,
    application_name: options.applicationName,
    types: int8AsNumber,
  });
  // An idle client losing its server is reported here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** A migration that failed; `cause` holds the database's error. */
export class MigrationError extends FerryError {}

/** Brings the schema to the latest migration; concurrent callers wait on Kysely's lock. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new MigrationError('database migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
