import { activeTraceId, EVENTS, type Database, type EventName, type EventOf, type FileStatus } from '@ferry/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import { deriveStatus, nextJobStatus, type FileFacts, type JobState } from '../domain/file-status.js';

type Tx = Transaction<Database>;

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
  constructor(private readonly db: Kysely<Database>) {}

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
      default:
        // Alerts, backups and commands are recorded by the parts that own them.
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
      if (name === 'upload.done') {
        const done = event as EventOf<'upload.done'>;
        await tx.updateTable('files').set({ zone: done.zone, key: done.key, stored_at: done.storedAt }).where('id', '=', done.fileId).execute();
      }
      if (name.startsWith('job.') && name !== 'job.skipped') await this.job(tx, name, event as EventOf<'job.queued'> | EventOf<'job.failed'>);
      await this.refreshStatus(tx, event.fileId, at);
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

  private async job(tx: Tx, name: EventName, e: EventOf<'job.queued'> | EventOf<'job.failed'>): Promise<void> {
    const incoming = ({ 'job.queued': 'queued', 'job.started': 'processing', 'job.done': 'done', 'job.failed': 'failed' } as const)[name as 'job.queued'];
    const final = 'final' in e ? e.final : false;
    const current = await tx.selectFrom('jobs').selectAll().where('id', '=', e.jobId).forUpdate().executeTakeFirst();
    const status = nextJobStatus(current?.status, incoming, final);
    const row = {
      file_id: e.fileId,
      pipeline: e.pipeline,
      status,
      attempt: Math.max(current?.attempt ?? 0, e.attempt),
      exit_code: 'exitCode' in e ? e.exitCode : (current?.exit_code ?? null),
      error: name === 'job.failed' && 'error' in e ? e.error : status === 'done' ? null : (current?.error ?? null),
      queued_at: name === 'job.queued' ? e.at : (current?.queued_at ?? null),
      started_at: name === 'job.started' ? e.at : (current?.started_at ?? null),
      finished_at: status === 'done' || status === 'failed' ? (name === 'job.done' || name === 'job.failed' ? e.at : (current?.finished_at ?? null)) : null,
      updated_at: e.at,
    };
    await tx
      .insertInto('jobs')
      .values({ id: e.jobId, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
  }

  private async refreshStatus(tx: Tx, fileId: string, at: string): Promise<void> {
    const file = await tx.selectFrom('files').select(['id', 'status']).where('id', '=', fileId).forUpdate().executeTakeFirst();
    if (!file) return; // its file.detected has not arrived yet; it will derive the status then
    const events = await tx.selectFrom('file_events').select(['event', 'details', 'at']).where('file_id', '=', fileId).orderBy('at').orderBy('id').execute();
    const jobs: JobState[] = await tx.selectFrom('jobs').select(['pipeline', 'status', 'error']).where('file_id', '=', fileId).execute();
    const facts: FileFacts = { uploading: file.status === 'uploading', stored: false, uploadFailed: null, skipped: false, jobs };
    for (const e of events) {
      if (e.event === 'upload.done') facts.stored = true;
      if (e.event === 'job.skipped') facts.skipped = true;
      if (e.event === 'upload.failed' && e.details.final === true) facts.uploadFailed = typeof e.details.error === 'string' ? e.details.error : 'upload failed';
    }
    const derived = deriveStatus(facts);
    await tx
      .updateTable('files')
      .set({
        status: derived.status,
        failed_step: derived.failedStep,
        error: derived.error,
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

  private async deadLetter(e: EventOf<'dead.letter'>): Promise<void> {
    await this.db
      .insertInto('dead_letters')
      .values({ id: EVENTS['dead.letter'].msgId(e), stream: e.stream, consumer: e.consumer, subject: e.subject, reason: e.reason, error: e.error, data: e.data, at: e.at })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
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
