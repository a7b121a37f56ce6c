import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

// Migrations are code, not files found at run time, so the built package carries them.
// Never edit one that has shipped: add the next.
const migrations: Record<string, Migration> = {
  '0001-initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('files')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instrument', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'char(64)', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failed_step', 'text')
        .addColumn('error', 'text')
        .addColumn('zone', 'text')
        .addColumn('key', 'text')
        .addColumn('mtime', 'timestamptz', (c) => c.notNull())
        .addColumn('detected_at', 'timestamptz', (c) => c.notNull())
        .addColumn('stored_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('trace_id', 'text')
        .addColumn('manifest', 'jsonb')
        .addCheckConstraint('files_status_check', sql`status in ('detected','uploading','stored','queued','processing','done','failed')`)
        .execute();
      // Newest first, keyset pagination on (detected_at, id), alone or per instrument / status.
      await db.schema.createIndex('files_detected_idx').on('files').columns(['detected_at desc', 'id desc']).execute();
      await db.schema.createIndex('files_instrument_detected_idx').on('files').columns(['instrument', 'detected_at desc', 'id desc']).execute();
      await db.schema.createIndex('files_status_detected_idx').on('files').columns(['status', 'detected_at desc', 'id desc']).execute();
      await db.schema.createIndex('files_sha256_idx').on('files').column('sha256').execute();

      await db.schema
        .createTable('file_events')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('file_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('status', 'text')
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .addColumn('instance', 'text')
        .addColumn('trace_id', 'text')
        .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .execute();
      await db.schema.createIndex('file_events_file_idx').on('file_events').columns(['file_id', 'at']).execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('file_id', 'text', (c) => c.notNull())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('queued_at', 'timestamptz')
        .addColumn('started_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_file_idx').on('jobs').column('file_id').execute();

      await db.schema
        .createTable('components')
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('instance', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('started_at', 'timestamptz', (c) => c.notNull())
        .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
        .addColumn('interval_ms', 'integer', (c) => c.notNull())
        .addColumn('disks', 'jsonb', (c) => c.notNull())
        .addColumn('details', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('components_pk', ['service', 'instance'])
        .execute();

      await db.schema
        .createTable('dead_letters')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('error', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('viewer','operator','admin')`))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('last_used_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .execute();
    },
  },
  '0002-zones': {
    async up(db: Kysely<unknown>) {
      // Reported by uploaders in their heartbeats (never with credentials), kept by the monitor.
      await db.schema
        .createTable('zones')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('bucket', 'text')
        .addColumn('endpoint', 'text')
        .addColumn('region', 'text')
        .addColumn('prefix', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('dir', 'text')
        .addColumn('reported_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
};

/** Supplies Ferry's migrations to Kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
