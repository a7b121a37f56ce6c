import { activeTraceId, EVENTS, type Database, type EventName, type EventOf, type FileStatus } from '@ferry/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import { deriveJob, deriveStatus, type FileFacts, type JobEvent, type JobState } from '../domain/file-status.js';

type Tx = Transaction<Database>;

/** First key of the advisory locks that serialise the projection of one file (see `lockFile`). */
const FILE_LOCK_SPACE = 0x4665; // "Fe"

const JOB_EVENTS = ['job.queued', 'job.started', 'job.done', 'job.failed'] as const;

/** Options for {@link Projection}. */
export interface ProjectionOptions {
  /** One disk sample is kept per volume and this much time (default 5 min). */
  diskSampleEveryMs?: number;
}

/** The status a timeline row shows for each file event. */
const EVENT_STATUS: Partial<Record<EventName, FileStatus>> = {
  'file.detected': 'detected',
  'upload.done': 'stored',
  'job.queued': 'queued',
  'job.started': 'processing',
  'job.done': 'done',
  'job.skipped': 'done',
};

/**
 * Writes events into PostgreSQL. Every method is idempotent: the timeline is keyed by
 * the event's message id, and a file's status is derived from all it knows, so a replay
 * or a redelivery leaves the same rows.
 */
export class Projection {
  private readonly diskSampleEveryMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    options: ProjectionOptions = {},
  ) {
    this.diskSampleEveryMs = Math.max(1000, options.diskSampleEveryMs ?? 300_000);
  }

  async apply<N extends EventName>(name: N, event: EventOf<N>): Promise<void> {
    switch (name) {
      case 'file.detected':
      case 'upload.done':
      case 'upload.failed':
      case 'job.queued':
      case 'job.started':
      case 'job.done':
      case 'job.failed':
      case 'job.skipped':
        return this.fileEvent(name, event as FileEventPayload);
      case 'heartbeat':
        return this.heartbeat(event as EventOf<'heartbeat'>);
      case 'dead.letter':
        return this.deadLetter(event as EventOf<'dead.letter'>);
      case 'backup.completed':
        return this.backup(event as EventOf<'backup.completed'>);
      case 'canary.result':
        return this.canary(event as EventOf<'canary.result'>);
      case 'command':
        return this.command(event as EventOf<'command'>);
      default:
        // Alerts are written by the alert engine itself.
        return;
    }
  }

  /** Marks a file as uploading when the first progress report arrives (not a timeline step). */
  async uploading(fileId: string, at: string): Promise<void> {
    await this.db
      .updateTable('files')
      .set({ status: 'uploading', updated_at: sql<Date>`greatest(updated_at, ${at}::timestamptz)` })
      .where('id', '=', fileId)
      .where('status', '=', 'detected')
      .execute();
  }

  private async fileEvent(name: EventName, event: FileEventPayload): Promise<void> {
    const eventId = (EVENTS[name].msgId as (e: unknown) => string)(event);
    const at = eventTime(event);
    const traceId = activeTraceId() ?? null;
    await this.db.transaction().execute(async (tx) => {
      await lockFile(tx, event.fileId);
      const inserted = await tx
        .insertInto('file_events')
        .values({
          file_id: event.fileId,
          event_id: eventId,
          event: name,
          status: EVENT_STATUS[name] ?? (name === 'upload.failed' || name === 'job.failed' ? 'failed' : null),
          at,
          instance: instanceOf(event),
          trace_id: traceId,
          details: JSON.stringify(detailsOf(name, event)),
        })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return; // seen before: nothing new to project
      if (name === 'file.detected') await this.insertFile(tx, event as EventOf<'file.detected'>, traceId);
      if ((JOB_EVENTS as readonly string[]).includes(name)) await this.refreshJob(tx, event as EventOf<'job.queued'>);
      await this.refreshFile(tx, event.fileId, at);
    });
  }

  /**
   * An operator's retry of a failed upload: a step on the file's timeline, which moves the
   * file back to its upload until an outcome of that retry arrives (refreshFile). Other
   * commands are the business of the services they ask.
   */
  private async command(e: EventOf<'command'>): Promise<void> {
    const fileId = e.args.fileId;
    if (e.verb !== 'retry' || e.args.step !== 'upload' || typeof fileId !== 'string') return;
    await this.db.transaction().execute(async (tx) => {
      await lockFile(tx, fileId);
      const file = await tx.selectFrom('files').select('id').where('id', '=', fileId).executeTakeFirst();
      if (!file) return; // a retry of a file this database never had: nothing to move
      const inserted = await tx
        .insertInto('file_events')
        .values({
          file_id: fileId,
          event_id: `command:${e.commandId}`,
          event: 'command.retry',
          status: null,
          at: e.at,
          instance: null,
          trace_id: activeTraceId() ?? null,
          details: JSON.stringify({ commandId: e.commandId, step: 'upload', by: e.by }),
        })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) await this.refreshFile(tx, fileId, e.at);
    });
  }

  private async insertFile(tx: Tx, e: EventOf<'file.detected'>, traceId: string | null): Promise<void> {
    await tx
      .insertInto('files')
      .values({
        id: e.fileId,
        instrument: e.instrument,
        path: e.path,
        root: e.root,
        kind: e.kind,
        size: e.size,
        sha256: e.sha256,
        status: 'detected',
        zone: e.zone ?? null,
        mtime: e.mtime,
        detected_at: e.detectedAt,
        updated_at: e.detectedAt,
        trace_id: traceId,
        manifest: JSON.stringify(e.manifest ?? null),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  /** Rewrites a job's row from all of its events, so their order never matters. */
  private async refreshJob(tx: Tx, e: EventOf<'job.queued'>): Promise<void> {
    const rows = await tx
      .selectFrom('file_events')
      .select(['event', 'details'])
      .where('file_id', '=', e.fileId)
      .where('event', 'in', [...JOB_EVENTS])
      .where(sql<string>`details->>'jobId'`, '=', e.jobId)
      .execute();
    const events: JobEvent[] = rows.map((r) => ({
      event: r.event as JobEvent['event'],
      attempt: Number(r.details.attempt ?? 1),
      at: String(r.details.at),
      exitCode: typeof r.details.exitCode === 'number' ? r.details.exitCode : null,
      error: typeof r.details.error === 'string' ? r.details.error : undefined,
      final: r.details.final === true,
    }));
    const job = deriveJob(events);
    const row = {
      file_id: e.fileId,
      pipeline: e.pipeline,
      status: job.status,
      attempt: job.attempt,
      exit_code: job.exitCode,
      error: job.error,
      queued_at: job.queuedAt,
      started_at: job.startedAt,
      finished_at: job.finishedAt,
      updated_at: job.updatedAt,
    };
    await tx
      .insertInto('jobs')
      .values({ id: e.jobId, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
  }

  /** Derives a file's status and storage from all of its events and jobs. */
  private async refreshFile(tx: Tx, fileId: string, at: string): Promise<void> {
    const file = await tx.selectFrom('files').select(['id', 'status']).where('id', '=', fileId).forUpdate().executeTakeFirst();
    if (!file) return; // its file.detected has not arrived yet; it will derive the status then
    const events = await tx.selectFrom('file_events').select(['event', 'details', 'at']).where('file_id', '=', fileId).orderBy('at').orderBy('id').execute();
    const jobs: JobState[] = await tx.selectFrom('jobs').select(['pipeline', 'status', 'error']).where('file_id', '=', fileId).execute();
    const facts: FileFacts = { uploading: file.status === 'uploading', stored: false, uploadFailed: null, skipped: false, jobs };
    // Stored where it was stored first (a file may reach several zones); ties by zone name.
    let stored: { zone: string; key: string; storedAt: string } | undefined;
    // Retries with an outcome (done, or failed for good) are settled by it, whatever the
    // order of the hosts' clocks; one still running undoes the upload failures before it.
    const answered = new Set<string>();
    for (const e of events) {
      const final = e.event === 'upload.done' || (e.event === 'upload.failed' && e.details.final === true);
      if (final && typeof e.details.retryOf === 'string') answered.add(e.details.retryOf);
    }
    for (const e of events) {
      if (e.event === 'upload.done') {
        facts.stored = true;
        const s = { zone: String(e.details.zone), key: String(e.details.key), storedAt: String(e.details.storedAt) };
        if (!stored || Date.parse(s.storedAt) < Date.parse(stored.storedAt) || (s.storedAt === stored.storedAt && s.zone < stored.zone)) stored = s;
      }
      if (e.event === 'job.skipped') facts.skipped = true;
      if (e.event === 'upload.failed' && e.details.final === true) facts.uploadFailed = typeof e.details.error === 'string' ? e.details.error : 'upload failed';
      if (e.event === 'command.retry' && !answered.has(String(e.details.commandId))) facts.uploadFailed = null;
    }
    const derived = deriveStatus(facts);
    await tx
      .updateTable('files')
      .set({
        status: derived.status,
        failed_step: derived.failedStep,
        error: derived.error,
        ...(stored ? { zone: stored.zone, key: stored.key, stored_at: stored.storedAt } : {}),
        updated_at: sql<Date>`greatest(updated_at, ${at}::timestamptz)`,
      })
      .where('id', '=', fileId)
      .execute();
  }

  private async heartbeat(e: EventOf<'heartbeat'>): Promise<void> {
    const row = {
      version: e.version,
      started_at: e.startedAt,
      last_seen_at: e.at,
      interval_ms: e.intervalMs,
      disks: JSON.stringify(e.disks),
      details: JSON.stringify(e.details),
    };
    await this.db
      .insertInto('components')
      .values({ service: e.service, instance: e.instance, ...row })
      .onConflict((oc) => oc.columns(['service', 'instance']).doUpdateSet(row).where('components.last_seen_at', '<', new Date(e.at)))
      .execute();
    if (e.disks.length > 0) {
      const atMs = Date.parse(e.at);
      const bucket = new Date(Math.floor(atMs / this.diskSampleEveryMs) * this.diskSampleEveryMs);
      await this.db
        .insertInto('disk_samples')
        .values(e.disks.map((d) => ({ service: e.service, instance: e.instance, path: d.path, bucket_at: bucket, at: e.at, free_bytes: Math.round(d.freeBytes), total_bytes: Math.round(d.totalBytes) })))
        .onConflict((oc) =>
          oc
            .columns(['service', 'instance', 'path', 'bucket_at'])
            // The earliest sample of a bucket stays, whatever order heartbeats are replayed in.
            .doUpdateSet((eb) => ({ at: eb.ref('excluded.at'), free_bytes: eb.ref('excluded.free_bytes'), total_bytes: eb.ref('excluded.total_bytes') }))
            .where('disk_samples.at', '>', (eb) => eb.ref('excluded.at')),
        )
        .execute();
    }
    for (const zone of e.zones ?? []) {
      const values = {
        kind: zone.kind,
        bucket: zone.bucket ?? null,
        endpoint: zone.endpoint ?? null,
        region: zone.region ?? null,
        prefix: zone.prefix,
        dir: zone.dir ?? null,
        reported_by: `${e.service}/${e.instance}`,
        updated_at: e.at,
      };
      await this.db
        .insertInto('zones')
        .values({ name: zone.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet(values).where('zones.updated_at', '<', new Date(e.at)))
        .execute();
    }
  }

  private async backup(e: EventOf<'backup.completed'>): Promise<void> {
    await this.db
      .insertInto('backups')
      .values({
        id: e.backupId,
        database: e.database,
        zone: e.zone,
        key: e.key,
        size: e.size,
        sha256: e.sha256,
        verified: e.verified,
        error: e.error ?? null,
        tables: JSON.stringify(e.tables),
        started_at: e.startedAt,
        finished_at: e.finishedAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  private async canary(e: EventOf<'canary.result'>): Promise<void> {
    await this.db
      .insertInto('canary_results')
      .values({
        id: e.checkId,
        instrument: e.instrument,
        instance: e.instance,
        result: e.result,
        latency_ms: e.latencyMs,
        limit_ms: e.limitMs,
        interval_ms: e.intervalMs,
        sha256: e.sha256,
        detail: e.detail ?? null,
        checked_at: e.checkedAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  private async deadLetter(e: EventOf<'dead.letter'>): Promise<void> {
    await this.db
      .insertInto('dead_letters')
      .values({ id: EVENTS['dead.letter'].msgId(e), stream: e.stream, consumer: e.consumer, subject: e.subject, reason: e.reason, error: e.error, data: e.data, at: e.at })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
}

/**
 * Serialises the projection of one file across transactions, monitor instances and
 * streams: each sees every earlier commit for the file, so the last one to commit
 * derives the status from all events, in whatever order they were handled.
 */
async function lockFile(tx: Tx, fileId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${FILE_LOCK_SPACE}, hashtext(${fileId}))`.execute(tx);
}

type FileEventPayload =
  | EventOf<'file.detected'>
  | EventOf<'upload.done'>
  | EventOf<'upload.failed'>
  | EventOf<'job.queued'>
  | EventOf<'job.started'>
  | EventOf<'job.done'>
  | EventOf<'job.failed'>
  | EventOf<'job.skipped'>;

function eventTime(e: FileEventPayload): string {
  if ('detectedAt' in e) return e.detectedAt;
  if ('storedAt' in e) return e.storedAt;
  if ('failedAt' in e) return e.failedAt;
  return e.at;
}

function instanceOf(e: FileEventPayload): string | null {
  if ('watcher' in e) return e.watcher;
  if ('uploader' in e) return e.uploader;
  if ('worker' in e) return e.worker ?? null;
  return null;
}

/** The parts of an event worth showing on a timeline, without repeating the file's own fields. */
function detailsOf(name: EventName, e: FileEventPayload): Record<string, unknown> {
  const { fileId: _f, instrument: _i, path: _p, sha256: _s, ...rest } = e as FileEventPayload & { path?: string };
  if (name === 'file.detected') return { size: (e as EventOf<'file.detected'>).size, mtime: (e as EventOf<'file.detected'>).mtime };
  return rest;
}
