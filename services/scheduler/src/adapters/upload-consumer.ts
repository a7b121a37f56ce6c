import { getTracer, injectTraceContext, SpanKind, withSpan, type Bus, type EventOf, type Logger } from '@ferry/common';
import { jobIdFor, type PipelineMatcher } from '../domain/pipeline.js';
import { jobDataFor, poolQueueName, type JobQueues } from './job-queues.js';

/** Options for {@link createUploadHandler}. */
export interface UploadHandlerOptions {
  bus: Bus;
  queues: JobQueues;
  matcher: PipelineMatcher;
  logger: Logger;
}

/** Handles one `upload.done`; throws when it should be retried. */
export type UploadHandler = (event: EventOf<'upload.done'>) => Promise<void>;

/**
 * Turns a stored file into pipeline jobs. Idempotent by construction: the job id is
 * derived from pipeline, version and file, so BullMQ ignores a second add, and every
 * event published has a message id the stream deduplicates.
 */
export function createUploadHandler(options: UploadHandlerOptions): UploadHandler {
  const tracer = getTracer('scheduler');
  return async (event) => {
    const logger = options.logger.child({ fileId: event.fileId, instrument: event.instrument });
    const matched = options.matcher({ instrument: event.instrument, path: event.path, zone: event.zone });
    if (matched.length === 0) {
      await options.bus.publish('job.skipped', {
        fileId: event.fileId,
        instrument: event.instrument,
        sha256: event.sha256,
        reason: 'no pipeline matched',
        at: new Date().toISOString(),
      });
      logger.debug({ path: event.path }, 'no pipeline matched');
      return;
    }
    for (const pipeline of matched) {
      const jobId = jobIdFor(pipeline, event.fileId);
      // `job.queued` goes out before the add, so an existing job has been announced
      // already; announcing it again after it ran would move the file back to queued.
      const state = await options.queues.state(pipeline.pool, jobId);
      if (state !== 'unknown') {
        logger.info({ jobId, state }, 'job exists; not queued again');
        continue;
      }
      const queuedAt = new Date().toISOString();
      // Published before the add so that on the JOBS stream `queued` always precedes the
      // worker's `started`. If the add then fails, the redelivery adds it; the repeated
      // `queued` carries the same message id and the stream drops it.
      await options.bus.publish('job.queued', {
        jobId,
        fileId: event.fileId,
        pipeline: pipeline.name,
        instrument: event.instrument,
        sha256: event.sha256,
        attempt: 1,
        at: queuedAt,
      });
      // The job carries this span's context in its data: the worker's span, on whichever
      // host, is its child, so the job joins the file's trace across the Redis hop.
      const attributes = { 'ferry.job_id': jobId, 'ferry.pipeline': pipeline.name, 'ferry.file_id': event.fileId, 'messaging.destination.name': poolQueueName(pipeline.pool) };
      await withSpan(tracer, `job ${pipeline.name} enqueue`, { kind: SpanKind.PRODUCER, attributes }, async () => {
        const data = jobDataFor(event, pipeline, injectTraceContext({}), queuedAt);
        await options.queues.add(pipeline.pool, jobId, data, { attempts: pipeline.attempts, backoffMs: pipeline.backoffMs });
      });
      logger.info({ jobId, pool: pipeline.pool }, 'job queued');
    }
  };
}
