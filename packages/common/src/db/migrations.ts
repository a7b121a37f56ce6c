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
  '0003-alerts': {
    async up(db: Kysely<unknown>) {
      // backup.completed, projected by the monitor; the backup rule reads the last verified one.
      await db.schema
        .createTable('backups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('database', 'text', (c) => c.notNull())
        .addColumn('zone', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'char(64)', (c) => c.notNull())
        .addColumn('verified', 'boolean', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('tables', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('started_at', 'timestamptz', (c) => c.notNull())
        .addColumn('finished_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backups_finished_idx').on('backups').column('finished_at desc').execute();

      // Free space of each reported volume, one sample per volume and time bucket (the
      // earliest heartbeat in the bucket wins, so replays give the same rows); the disk
      // forecast fits a line through the recent ones.
      await db.schema
        .createTable('disk_samples')
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('instance', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('bucket_at', 'timestamptz', (c) => c.notNull())
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .addColumn('free_bytes', 'bigint', (c) => c.notNull())
        .addColumn('total_bytes', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('disk_samples_pk', ['service', 'instance', 'path', 'bucket_at'])
        .execute();
      await db.schema.createIndex('disk_samples_bucket_idx').on('disk_samples').column('bucket_at').execute();

      // One row per alert instance: a fingerprint that fires, resolves and fires again has two rows.
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('labels', 'jsonb', (c) => c.notNull())
        .addColumn('annotations', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('firing','resolved')`))
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
        .addColumn('ends_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('muted_by', 'text')
        .addColumn('last_notified_at', 'timestamptz')
        .addColumn('resolved_notified_at', 'timestamptz')
        .addColumn('firing_published', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('resolved_published', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema.createIndex('alerts_firing_fingerprint_idx').on('alerts').column('fingerprint').unique().where(sql.ref('status'), '=', 'firing').execute();
      await db.schema.createIndex('alerts_status_starts_idx').on('alerts').columns(['status', 'starts_at desc']).execute();
      await db.schema.createIndex('alerts_group_idx').on('alerts').column('group_key').execute();
      await db.schema
        .createIndex('alerts_unpublished_idx')
        .on('alerts')
        .column('id')
        .where(sql<boolean>`not firing_published or (status = 'resolved' and not resolved_published)`)
        .execute();

      await db.schema
        .createTable('alert_groups')
        .addColumn('group_key', 'text', (c) => c.primaryKey())
        .addColumn('labels', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('last_notified_at', 'timestamptz')
        .addColumn('notified_fingerprints', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .execute();

      await db.schema
        .createTable('silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('matchers', 'jsonb', (c) => c.notNull())
        .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
        .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('silences_ends_idx').on('silences').column('ends_at').execute();

      await db.schema
        .createTable('notifications')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('firing','resolved')`))
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('alerts', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('notifications_created_idx').on('notifications').column('created_at desc').execute();

      // The outbox: one row per notification and receiver, retried until sent or too old.
      await db.schema
        .createTable('notification_deliveries')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('notification_id', 'bigint', (c) => c.notNull().references('notifications.id').onDelete('cascade'))
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('payload', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending','sent','failed')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('sent_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('notification_deliveries_pending_idx')
        .on('notification_deliveries')
        .columns(['receiver', 'id'])
        .where(sql.ref('status'), '=', 'pending')
        .execute();

      // What the alert rules look up every evaluation, kept cheap on large tables.
      await db.schema.createIndex('files_failed_idx').on('files').column('updated_at').where(sql.ref('status'), '=', 'failed').execute();
      await db.schema.createIndex('jobs_failed_idx').on('jobs').column('finished_at').where(sql.ref('status'), '=', 'failed').execute();
      await db.schema.createIndex('dead_letters_at_idx').on('dead_letters').column('at').execute();

      // Small facts the monitor keeps across restarts, e.g. when it first ran.
      await db.schema
        .createTable('monitor_state')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'jsonb', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
  '0004-gateway': {
    async up(db: Kysely<unknown>) {
      // Web page sign-ins: the cookie holds a random secret, the row only its SHA-256.
      // A session dies with its token (revocation is checked at each request, deletion cascades).
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_id', 'text', (c) => c.notNull().references('api_tokens.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_token_idx').on('sessions').column('token_id').execute();
      await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();

      // Answers of the gateway counted per hour, route pattern, method, status and client;
      // gateways add to the same row. The scheduler's retention finds the `hour` column.
      await db.schema
        .createTable('request_stats')
        .addColumn('hour', 'timestamptz', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('client', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('total_ms', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('request_stats_pk', ['hour', 'route', 'method', 'status', 'client'])
        .execute();

      // The gateway's live feed polls files and alerts changed since its last look.
      await db.schema.createIndex('files_updated_idx').on('files').column('updated_at').execute();
      await db.schema.createIndex('alerts_updated_idx').on('alerts').column('updated_at').execute();
      // Instrument and status together, newest first: a rare status of one instrument
      // (its failures) is a short range scan, not a walk through all its files.
      await db.schema.createIndex('files_instrument_status_detected_idx').on('files').columns(['instrument', 'status', 'detected_at desc', 'id desc']).execute();
      // Storage usage per zone and day reads only these columns.
      await sql`create index files_stored_idx on files (stored_at) include (zone, size) where stored_at is not null`.execute(db);
      // The jobs page: newest first, alone or by status or pipeline; counts of what is open.
      await db.schema.createIndex('jobs_updated_idx').on('jobs').columns(['updated_at desc', 'id desc']).execute();
      await db.schema.createIndex('jobs_status_updated_idx').on('jobs').columns(['status', 'updated_at desc', 'id desc']).execute();
      await db.schema.createIndex('jobs_pipeline_updated_idx').on('jobs').columns(['pipeline', 'updated_at desc', 'id desc']).execute();
      await db.schema.createIndex('jobs_open_idx').on('jobs').columns(['pipeline', 'status']).where(sql.ref('status'), '<>', 'done').execute();

      // Text search in paths (`q`): a trigram index serves ILIKE '%text%'. pg_trgm ships
      // with PostgreSQL's contrib and is a trusted extension (the database owner may
      // create it); where it cannot be created the search still works, by scanning.
      await sql`
        do $$
        begin
          create extension if not exists pg_trgm;
        exception when others then
          raise notice 'pg_trgm is not available (%); path search will scan', sqlerrm;
        end
        $$`.execute(db);
      await sql`
        do $$
        begin
          if exists (select 1 from pg_extension where extname = 'pg_trgm') then
            execute 'create index files_path_trgm_idx on files using gin (path gin_trgm_ops)';
          end if;
        end
        $$`.execute(db);
    },
  },
  '0005-canary': {
    async up(db: Kysely<unknown>) {
      // One row per end-to-end check (canary.result), written by the monitor.
      await db.schema
        .createTable('canary_results')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instrument', 'text', (c) => c.notNull())
        .addColumn('instance', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull().check(sql`result in ('ok','late','failed')`))
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('limit_ms', 'integer', (c) => c.notNull())
        .addColumn('interval_ms', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'char(64)', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('checked_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('canary_results_instrument_idx').on('canary_results').columns(['instrument', 'checked_at desc']).execute();
    },
  },
  '0006-path-grams': {
    async up(db: Kysely<unknown>) {
      // Text search in paths (`q`) by an index of every three-character run of the
      // lowercased path, separators included. pg_trgm's index (0004) splits paths into
      // words, so "proj-17/sample_12" could only look up "17" and "12" anywhere in the
      // path: thousands of candidates. Runs across separators ("7/s", "_12") keep the
      // order, and the index needs no extension. The gateway looks up the rarest runs
      // and tests the full text on the candidates (services/gateway/src/domain/path-search.ts).
      // Collation "C" makes the index compare bytes; lower() still follows the database's
      // locale, as ILIKE does.
      await sql`
        create or replace function ferry_path_grams(p text) returns text[]
        language sql immutable strict parallel safe
        as $$ select coalesce(array_agg(distinct substr(p, i, 3)), '{}'::text[]) from generate_series(1, char_length(p) - 2) as i $$`.execute(db);
      await sql`create index files_path_grams_idx on files using gin (ferry_path_grams(lower(path) collate "C"))`.execute(db);
      await sql`drop index if exists files_path_trgm_idx`.execute(db);
    },
  },
};

/** Supplies Ferry's migrations to Kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
