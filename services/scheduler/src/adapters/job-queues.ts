import { errorMessage, EVENTS, type EventOf, type Logger } from '@ferry/common';
import { Queue, type JobState } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { z } from 'zod';

/** The BullMQ job states counted per queue (metrics, the jobs page). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** Finished jobs stay this long so a redelivered or replayed event finds them and is not queued again. */
export const KEEP_FINISHED_SECONDS = 7 * 86_400;

/** The BullMQ queue name of a pool. The `jobs-` part keeps pools apart from other queues under the same prefix. */
export function poolQueueName(pool: string): string {
  return `jobs-${pool}`;
}

// The event exactly as it is to be published, validated by the catalog's own schemas.
const doneOrFailedOutcome = z.discriminatedUnion('name', [
  z.object({ name: z.literal('job.done'), event: EVENTS['job.done'].schema }),
  z.object({ name: z.literal('job.failed'), event: EVENTS['job.failed'].schema }),
]);

/**
 * What a queued job carries. Validated when a worker takes it, since queued jobs can
 * outlive the version of the scheduler that wrote them.
 */
export const jobDataSchema = z.object({
  pipeline: z.string().min(1),
  version: z.number().int().positive(),
  fileId: z.string().min(1),
  instrument: z.string().min(1),
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().min(1),
  zone: z.string().min(1),
  key: z.string().min(1),
  root: z.string().min(1).optional(),
  storedAt: z.string(),
  queuedAt: z.string(),
  /** W3C trace context of the scheduler's span, so the job joins the file's trace. */
  trace: z.record(z.string(), z.string()).default({}),
  /**
   * An outcome the worker could not publish yet. Kept in Redis so a bus outage delays
   * the report instead of losing it or running the command again.
   */
  pendingOutcome: doneOrFailedOutcome.optional(),
  /**
   * Tries made before an operator's retry started this attempt series; reported attempt
   * numbers continue from it, so every try keeps its own event ids.
   */
  attemptBase: z.number().int().nonnegative().default(0),
  /** The `command.retry` that started the current series; a redelivered command finds it here. */
  retryCommandId: z.string().optional(),
  /** A submitted Slurm job, so a worker taking the job over polls it instead of submitting again. */
  slurmJob: z.object({ id: z.string().min(1), attempt: z.number().int().positive(), output: z.string(), submittedAt: z.string() }).optional(),
});
/** What a queued job carries; see {@link jobDataSchema}. */
export type JobData = z.infer<typeof jobDataSchema>;
/** A `job.done` or `job.failed` event waiting in the job for the bus to come back. */
export type PendingOutcome = z.infer<typeof doneOrFailedOutcome>;

/** The job data for a stored file and a pipeline. */
export function jobDataFor(event: EventOf<'upload.done'>, pipeline: { name: string; version: number }, trace: Record<string, string>, queuedAt: string): JobData {
  return {
    pipeline: pipeline.name,
    version: pipeline.version,
    fileId: event.fileId,
    instrument: event.instrument,
    path: event.path,
    size: event.size,
    sha256: event.sha256,
    zone: event.zone,
    key: event.key,
    root: event.root,
    storedAt: event.storedAt,
    queuedAt,
    trace,
    attemptBase: 0,
  };
}

/** Options for {@link createJobQueues}. */
export interface JobQueuesOptions {
  connection: RedisOptions;
  /** BullMQ key prefix (`QUEUE_PREFIX`). */
  prefix: string;
  logger: Logger;
}

/** Retry policy of one job, from its pipeline. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/** The producer side of the pools: one BullMQ queue per pool, opened on first use. */
export interface JobQueues {
  /** Adds a job unless one with the same id exists (BullMQ ignores the add then). */
  add(pool: string, jobId: string, data: JobData, retry: RetryPolicy): Promise<void>;
  /** The job's state, or 'unknown' when there is no such job (never queued, or expired). */
  state(pool: string, jobId: string): Promise<JobState | 'unknown'>;
  /** Applies a pool's limit across all workers (BullMQ global concurrency); removes it when unset. */
  limit(pool: string, globalConcurrency: number | undefined): Promise<void>;
  /**
   * Starts a new attempt series of a failed job for an operator's retry. `announce` runs
   * before the job can run again (so `job.queued` precedes the worker's `job.started` on
   * the stream); when it throws, nothing changes. Returns what happened.
   */
  retry(pool: string, jobId: string, commandId: string, announce: (data: JobData, attempt: number) => Promise<void>): Promise<RetryOutcome>;
  /**
   * Waiting, active, delayed, failed and completed counts per pool, for heartbeats, metrics
   * and tests: of the given pools (opening their queues), else of the queues opened so far.
   */
  counts(pools?: readonly string[]): Promise<Record<string, Record<string, number>>>;
  /** Closes every queue; safe to call twice. */
  close(): Promise<void>;
}

/** What {@link JobQueues.retry} did. */
export type RetryOutcome =
  | { kind: 'retried'; attempt: number; data: JobData }
  | { kind: 'already-retried' }
  | { kind: 'not-failed'; state: JobState | 'unknown' };

/** Applies or removes a queue's global concurrency. */
export async function applyGlobalConcurrency(queue: Queue, globalConcurrency: number | undefined): Promise<void> {
  if (globalConcurrency) await queue.setGlobalConcurrency(globalConcurrency);
  else await queue.removeGlobalConcurrency();
}

/** Creates the producer side of the pools. */
export function createJobQueues(options: JobQueuesOptions): JobQueues {
  const queues = new Map<string, Queue>();
  // A producer fails fast when Redis is away, so the bus message is retried later instead
  // of a consumer handler hanging with its ack pending.
  const connection: RedisOptions = { ...options.connection, maxRetriesPerRequest: 3 };
  let closing: Promise<void> | undefined;

  const queue = (pool: string): Queue => {
    if (closing) throw new Error('job queues are closed');
    let q = queues.get(pool);
    if (!q) {
      q = new Queue(poolQueueName(pool), { connection, prefix: options.prefix });
      q.on('error', (err) => options.logger.warn({ pool, err: errorMessage(err) }, 'queue connection error'));
      queues.set(pool, q);
    }
    return q;
  };

  return {
    async add(pool, jobId, data, retry) {
      await queue(pool).add(data.pipeline, data, {
        jobId,
        attempts: retry.attempts,
        backoff: { type: 'exponential', delay: retry.backoffMs },
        removeOnComplete: { age: KEEP_FINISHED_SECONDS },
        removeOnFail: { age: KEEP_FINISHED_SECONDS },
      });
    },
    state(pool, jobId) {
      return queue(pool).getJobState(jobId);
    },
    limit(pool, globalConcurrency) {
      return applyGlobalConcurrency(queue(pool), globalConcurrency);
    },
    async retry(pool, jobId, commandId, announce) {
      const job = await queue(pool).getJob(jobId);
      if (!job) return { kind: 'not-failed', state: 'unknown' };
      const parsed = jobDataSchema.safeParse(job.data);
      if (parsed.success && parsed.data.retryCommandId === commandId) return { kind: 'already-retried' };
      const state = await job.getState();
      if (state !== 'failed' || !parsed.success) return { kind: 'not-failed', state };
      const { pendingOutcome: _done, slurmJob: _submitted, ...rest } = parsed.data;
      const data: JobData = { ...rest, attemptBase: rest.attemptBase + job.attemptsMade, retryCommandId: commandId, queuedAt: new Date().toISOString() };
      await announce(data, data.attemptBase + 1);
      await job.updateData(data);
      // A fresh series: BullMQ counts tries from zero again, with the pipeline's backoff.
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return { kind: 'retried', attempt: data.attemptBase + 1, data };
    },
    async counts(pools) {
      const out: Record<string, Record<string, number>> = {};
      for (const pool of pools ?? [...queues.keys()]) out[pool] = await queue(pool).getJobCounts(...QUEUE_STATES);
      return out;
    },
    close() {
      closing ??= (async () => {
        const results = await Promise.allSettled([...queues.values()].map((q) => q.close()));
        for (const r of results) {
          if (r.status === 'rejected') options.logger.warn({ err: errorMessage(r.reason) }, 'closing a queue failed');
        }
      })();
      return closing;
    },
  };
}
