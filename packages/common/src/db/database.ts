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
 * A Kysely instance on a `pg` pool. `bigint` columns come back as numbers: sizes up to
 * 2^53 bytes (8 PiB) are exact.
 */
export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: options.url,
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
