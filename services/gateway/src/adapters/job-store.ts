import type { Database } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { encodeCursor, type FileCursor } from '../domain/cursor.js';
import { toJobItem, type JobItem } from '../domain/file-view.js';
import { isoMicros } from './file-store.js';

type JobStatus = JobItem['status'];

/** A job with the file it processes. */
export interface JobListItem extends JobItem {
  fileId: string;
  instrument: string | null;
  path: string | null;
}

/** Jobs not done, per pipeline: what is waiting, running, and failed. */
export interface PipelineSummary {
  pipeline: string;
  queued: number;
  processing: number;
  failed: number;
}

/** A database backup, as the API shows it. */
export interface BackupView {
  id: string;
  database: string;
  zone: string;
  key: string;
  size: number;
  sha256: string;
  verified: boolean;
  error: string | null;
  tables: Record<string, { source: number; restored: number }>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** Jobs and backups, as the monitor projects them; read only. */
export class JobStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Newest change first by (updated_at, id), filtered by status and pipeline. */
  async jobs(options: { status?: JobStatus | undefined; pipeline?: string | undefined; limit: number; cursor?: FileCursor | undefined }): Promise<{ items: JobListItem[]; nextCursor: string | null }> {
    let select = this.db
      .selectFrom('jobs as j')
      .leftJoin('files as f', 'f.id', 'j.file_id')
      .selectAll('j')
      .select(['f.instrument', 'f.path'])
      .select(isoMicros('j.updated_at').as('cursor_at'));
    if (options.status !== undefined) select = select.where('j.status', '=', options.status);
    if (options.pipeline !== undefined) select = select.where('j.pipeline', '=', options.pipeline);
    if (options.cursor !== undefined) select = select.where(sql<boolean>`(j.updated_at, j.id) < (${options.cursor.detectedAt}::timestamptz, ${options.cursor.id})`);
    const rows = await select.orderBy('j.updated_at', 'desc').orderBy('j.id', 'desc').limit(options.limit + 1).execute();
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({ ...toJobItem(r), fileId: r.file_id, instrument: r.instrument, path: r.path })),
      // The same opaque cursor form as files: a time and an id.
      nextCursor: rows.length > options.limit && last ? encodeCursor({ detectedAt: last.cursor_at, id: last.id }) : null,
    };
  }

  /** Open jobs per pipeline (served by a partial index over jobs not done). */
  async summary(): Promise<PipelineSummary[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['pipeline', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '<>', 'done')
      .groupBy(['pipeline', 'status'])
      .execute();
    const out = new Map<string, PipelineSummary>();
    for (const r of rows) {
      const s = out.get(r.pipeline) ?? { pipeline: r.pipeline, queued: 0, processing: 0, failed: 0 };
      if (r.status !== 'done') s[r.status] = Number(r.n);
      out.set(r.pipeline, s);
    }
    return [...out.values()].sort((a, b) => (a.pipeline < b.pipeline ? -1 : 1));
  }

  /** Newest first. */
  async backups(limit: number): Promise<BackupView[]> {
    const rows = await this.db.selectFrom('backups').selectAll().orderBy('finished_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      database: r.database,
      zone: r.zone,
      key: r.key,
      size: r.size,
      sha256: r.sha256,
      verified: r.verified,
      error: r.error,
      tables: r.tables,
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at.toISOString(),
      durationMs: r.finished_at.getTime() - r.started_at.getTime(),
    }));
  }

  /** When the last backup that restored correctly finished. */
  async lastVerifiedBackup(): Promise<string | null> {
    const row = await this.db.selectFrom('backups').select('finished_at').where('verified', '=', true).where('error', 'is', null).orderBy('finished_at', 'desc').limit(1).executeTakeFirst();
    return row?.finished_at.toISOString() ?? null;
  }
}
