import type { FileStatus } from '@ferry/common';

/** A job of a file as the projection holds it. */
export interface JobState {
  pipeline: string;
  status: 'queued' | 'processing' | 'done' | 'failed';
  error: string | null;
}

/** What is known of a file's history, whatever order its events arrived in. */
export interface FileFacts {
  uploading: boolean;
  stored: boolean;
  /** The reason of the last final upload failure, if any. */
  uploadFailed: string | null;
  skipped: boolean;
  jobs: JobState[];
}

/** A file's status with the failing step and reason when it failed. */
export interface DerivedStatus {
  status: FileStatus;
  failedStep: string | null;
  error: string | null;
}

/**
 * The status of a file from the facts gathered so far. Derived rather than stepped, so
 * events that arrive late, twice or out of order (they come from several streams and
 * several services) always give the same answer.
 */
export function deriveStatus(facts: FileFacts): DerivedStatus {
  if (facts.jobs.length > 0) {
    const failed = facts.jobs.find((j) => j.status === 'failed');
    if (failed) return { status: 'failed', failedStep: `job:${failed.pipeline}`, error: failed.error };
    if (facts.jobs.some((j) => j.status === 'processing')) return ok('processing');
    if (facts.jobs.some((j) => j.status === 'queued')) return ok('queued');
    return ok('done');
  }
  if (facts.skipped) return ok('done');
  if (facts.stored) return ok('stored');
  if (facts.uploadFailed !== null) return { status: 'failed', failedStep: 'upload', error: facts.uploadFailed };
  if (facts.uploading) return ok('uploading');
  return ok('detected');
}

function ok(status: FileStatus): DerivedStatus {
  return { status, failedStep: null, error: null };
}

const JOB_RANK = { queued: 0, processing: 1, failed: 2, done: 2 } as const;

/**
 * The next state of a job given an event about it. A late `job.queued` or `job.started`
 * never moves a finished job back; a retry's `job.started` after a non-final failure does
 * move it forward again.
 */
export function nextJobStatus(current: JobState['status'] | undefined, incoming: JobState['status'], final: boolean): JobState['status'] {
  if (incoming === 'failed' && !final) return current === 'done' ? 'done' : 'processing';
  if (current === undefined) return incoming;
  if (current === 'failed' && incoming !== 'done') return 'failed';
  return JOB_RANK[incoming] >= JOB_RANK[current] ? incoming : current;
}
