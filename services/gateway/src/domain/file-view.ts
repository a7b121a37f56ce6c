import type { Database, FileStatus, ManifestEntry } from '@ferry/common';

export type { ManifestEntry };
import type { Selectable } from 'kysely';

type FileRow = Selectable<Database['files']>;
type FileEventRow = Selectable<Database['file_events']>;
type JobRow = Selectable<Database['jobs']>;

/** A file as the API shows it: camelCase, ISO times, null where a value is absent. */
export interface FileItem {
  id: string;
  instrument: string;
  /** Relative to the instrument folder, with forward slashes. */
  path: string;
  kind: 'file' | 'folder';
  size: number;
  sha256: string;
  status: FileStatus;
  failedStep: string | null;
  error: string | null;
  zone: string | null;
  key: string | null;
  detectedAt: string;
  storedAt: string | null;
  updatedAt: string;
  traceId: string | null;
}

/** One step on a file's timeline. */
export interface TimelineEntry {
  event: string;
  status: FileStatus | null;
  at: string;
  instance: string | null;
  traceId: string | null;
  details: Record<string, unknown>;
  /** Milliseconds since the previous entry (how long that step took); null on the first. */
  sincePreviousMs: number | null;
}

/** One processing job of a file. */
export interface JobItem {
  id: string;
  pipeline: string;
  status: 'queued' | 'processing' | 'done' | 'failed';
  attempt: number;
  exitCode: number | null;
  error: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/** A file with its timeline, jobs and (for a folder) manifest, for `GET /api/v1/files/:id`. */
export interface FileDetail extends FileItem {
  timeline: TimelineEntry[];
  jobs: JobItem[];
  /** The members of a folder acquisition, sorted by path; null for a plain file. */
  manifest: ManifestEntry[] | null;
}

/** The columns a {@link FileItem} needs. */
export type FileItemRow = Pick<
  FileRow,
  'id' | 'instrument' | 'path' | 'kind' | 'size' | 'sha256' | 'status' | 'failed_step' | 'error' | 'zone' | 'key' | 'detected_at' | 'stored_at' | 'updated_at' | 'trace_id'
>;

/** Maps a `files` row to its API form. */
export function toFileItem(row: FileItemRow): FileItem {
  return {
    id: row.id,
    instrument: row.instrument,
    path: row.path,
    kind: row.kind,
    size: row.size,
    sha256: row.sha256,
    status: row.status,
    failedStep: row.failed_step,
    error: row.error,
    zone: row.zone,
    key: row.key,
    detectedAt: iso(row.detected_at),
    storedAt: isoOrNull(row.stored_at),
    updatedAt: iso(row.updated_at),
    traceId: row.trace_id,
  };
}

/** Maps `file_events` rows, in time order, to timeline entries with the time between steps. */
export function toTimeline(rows: readonly Pick<FileEventRow, 'event' | 'status' | 'at' | 'instance' | 'trace_id' | 'details'>[]): TimelineEntry[] {
  let previous: number | undefined;
  return rows.map((row) => {
    const at = row.at.getTime();
    const entry: TimelineEntry = {
      event: row.event,
      status: row.status,
      at: iso(row.at),
      instance: row.instance,
      traceId: row.trace_id,
      details: row.details,
      sincePreviousMs: previous === undefined ? null : at - previous,
    };
    previous = at;
    return entry;
  });
}

/** Maps a `jobs` row to its API form. */
export function toJobItem(row: JobRow): JobItem {
  return {
    id: row.id,
    pipeline: row.pipeline,
    status: row.status,
    attempt: row.attempt,
    exitCode: row.exit_code,
    error: row.error,
    queuedAt: isoOrNull(row.queued_at),
    startedAt: isoOrNull(row.started_at),
    finishedAt: isoOrNull(row.finished_at),
    updatedAt: iso(row.updated_at),
  };
}

function iso(value: Date): string {
  return value.toISOString();
}

function isoOrNull(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}
