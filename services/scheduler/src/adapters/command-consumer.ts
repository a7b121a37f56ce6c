import { PermanentError, type Bus, type EventOf, type Logger } from '@ferry/common';
import { z } from 'zod';
import { jobIdFor, type Pipeline } from '../domain/pipeline.js';
import type { JobQueues } from './job-queues.js';

/** Options for {@link createCommandHandler}. */
export interface CommandHandlerOptions {
  bus: Bus;
  queues: JobQueues;
  pipelines: readonly Pipeline[];
  /** "Back up now"; undefined when backups are not configured here. */
  backupNow?: ((commandId: string) => Promise<void>) | undefined;
  logger: Logger;
}

const retryArgs = z.object({ fileId: z.string().min(1), pipeline: z.string().min(1).optional() });

/** What a command led to, for logs and tests. */
export type CommandOutcome = { verb: string; result: string; jobs?: string[] };

/**
 * Handles operator commands from the gateway that are the scheduler's: `retry` (args
 * `{fileId, pipeline?}`) starts a new attempt series of the file's failed jobs, and
 * `backup` queues a backup now. Both are idempotent by command id, so a redelivered
 * command does nothing twice. Other verbs belong to other services and are ignored.
 */
export function createCommandHandler(options: CommandHandlerOptions): (event: EventOf<'command'>) => Promise<CommandOutcome> {
  return async (command) => {
    const logger = options.logger.child({ commandId: command.commandId, verb: command.verb, by: command.by });
    if (command.verb === 'backup') {
      if (!options.backupNow) {
        logger.warn('backup requested, but backups are not configured on this scheduler (BACKUP_DATABASE_URL)');
        return { verb: 'backup', result: 'not configured' };
      }
      await options.backupNow(command.commandId);
      logger.info('backup queued on request');
      return { verb: 'backup', result: 'queued' };
    }
    if (command.verb !== 'retry') return { verb: command.verb, result: 'ignored' };
    // A failed upload is retried by an uploader, from the same command.
    if (command.args.step === 'upload') return { verb: 'retry', result: 'ignored' };

    const args = retryArgs.safeParse(command.args);
    if (!args.success) throw new PermanentError(`retry command ${command.commandId} has invalid args: ${args.error.message}`);
    const { fileId, pipeline } = args.data;
    const candidates = options.pipelines.filter((p) => pipeline === undefined || p.name === pipeline);
    if (candidates.length === 0) {
      logger.warn({ pipeline }, 'retry of a pipeline that is not configured here');
      return { verb: 'retry', result: 'no such pipeline' };
    }
    const retried: string[] = [];
    for (const p of candidates) {
      const jobId = jobIdFor(p, fileId);
      const outcome = await options.queues.retry(p.pool, jobId, command.commandId, (data, attempt) =>
        options.bus.publish('job.queued', { jobId, fileId, pipeline: p.name, instrument: data.instrument, sha256: data.sha256, attempt, at: data.queuedAt }),
      );
      if (outcome.kind !== 'retried') {
        logger.info({ jobId, outcome: outcome.kind, ...(outcome.kind === 'not-failed' ? { state: outcome.state } : {}) }, 'nothing to retry');
        continue;
      }
      retried.push(jobId);
      logger.info({ jobId, attempt: outcome.attempt }, 'failed job queued again');
    }
    return { verb: 'retry', result: retried.length > 0 ? 'retried' : 'nothing failed', jobs: retried };
  };
}
