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

/** One event about a job, as its timeline row keeps it. */
export interface JobEvent {
  event: 'job.queued' | 'job.started' | 'job.done' | 'job.failed';
  attempt: number;
  /** ISO time. */
  at: string;
  exitCode?: number | null;
  error?: string;
  final?: boolean;
}

/** A job's row, derived from all of its events. */
export interface DerivedJob {
  status: JobState['status'];
  attempt: number;
  exitCode: number | null;
  error: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

const EVENT_RANK = { 'job.queued': 0, 'job.started': 1, 'job.failed': 2, 'job.done': 3 } as const;

/** Latest first: higher attempt, then later time, then later step. */
function latest<T extends JobEvent>(events: T[]): T | undefined {
  return [...events].sort((a, b) => b.attempt - a.attempt || Date.parse(b.at) - Date.parse(a.at) || EVENT_RANK[b.event] - EVENT_RANK[a.event])[0];
}

/**
 * A job's state from every event seen for it, in any order: the same set of events
 * always gives the same row, however late, repeated or shuffled they arrived.
 *
 * - `job.done` wins;
 * - a final `job.failed` makes it failed, unless a later attempt started (an operator retry);
 * - a start or a failure that will be retried means processing; otherwise queued.
 */
export function deriveJob(events: readonly JobEvent[]): DerivedJob {
  const first = events[0];
  if (!first) throw new Error('deriveJob needs at least one event');
  const of = (name: JobEvent['event']) => events.filter((e) => e.event === name);
  const done = latest(of('job.done'));
  const failures = of('job.failed');
  const finalFailure = latest(failures.filter((e) => e.final === true));
  const starts = of('job.started');
  const lastStart = latest(starts);
  const lastFailure = latest(failures);
  let status: JobState['status'];
  if (done) status = 'done';
  else if (finalFailure && (lastStart?.attempt ?? 0) <= finalFailure.attempt) status = 'failed';
  else if (starts.length > 0 || failures.length > 0) status = 'processing';
  else status = 'queued';
  const queued = of('job.queued').map((e) => e.at).sort((a, b) => Date.parse(a) - Date.parse(b));
  const times = events.map((e) => e.at).sort((a, b) => Date.parse(a) - Date.parse(b));
  return {
    status,
    attempt: Math.max(...events.map((e) => e.attempt)),
    exitCode: done ? (done.exitCode ?? null) : (lastFailure?.exitCode ?? null),
    error: done ? null : (lastFailure?.error ?? null),
    queuedAt: queued[0] ?? null,
    startedAt: lastStart?.at ?? null,
    finishedAt: status === 'done' ? (done?.at ?? null) : status === 'failed' ? (finalFailure?.at ?? null) : null,
    updatedAt: times[times.length - 1] ?? first.at,
  };
}
