import {
  errorMessage,
  extractTraceContext,
  FerryError,
  getTracer,
  injectTraceContext,
  instrumentFilePath,
  isPermanent,
  SpanKind,
  withSpan,
  type Bus,
  type EventOf,
  type Logger,
} from '@ferry/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { buildCommandEnv } from '../domain/command-env.js';
import { describeFailure, isFinalAttempt, reportedExitCode, succeeded, type CommandResult } from '../domain/job-outcome.js';
import type { Pipeline } from '../domain/pipeline.js';
import { runCommand } from './command-runner.js';
import { schedulerMetrics } from '../metrics.js';
import { jobDataSchema, type PendingOutcome } from './job-queues.js';
import { publishWithRetry } from './publish-retry.js';
import { runSlurmJob } from './slurm-runner.js';

/** A try whose command failed; BullMQ retries it while attempts are left. */
export class CommandFailedError extends FerryError {}

/** What a completed job stores as its BullMQ return value. */
export interface JobResult {
  exitCode: number;
  durationMs: number;
  /** The last few KiB of output. */
  output: string;
}

/** Options for {@link createJobProcessor}. */
export interface JobProcessorOptions {
  bus: Bus;
  /** The pipelines this worker can run, by name. */
  pipelines: ReadonlyMap<string, Pipeline>;
  /** Reported as `worker` in job events. */
  instance: string;
  logger: Logger;
  /** Instrument name to its folder on this host, for FERRY_FILE_PATH. */
  instrumentRoots: Readonly<Record<string, string>>;
  /** Aborted when the worker stops: running commands are killed and their jobs put back. */
  stopping: AbortSignal;
  /** Environment the commands inherit (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
  killGraceMs?: number;
  /** How long a publish is retried before the job is put back (default 30 s). */
  publishDeadlineMs?: number;
  /** Delay before a job put back for a bus outage runs again (default 10 s). */
  retryReportMs?: number;
}

/** A BullMQ processor; three parameters so BullMQ hands it a cancellation signal. */
export type JobProcessor = (job: Job, token: string | undefined, signal?: AbortSignal) => Promise<JobResult>;

/**
 * The body of every pipeline job: report `job.started`, run the command, report
 * `job.done` or `job.failed`, and let BullMQ retry failures with backoff. An outcome
 * that cannot be published is saved in the job and the job is put back without using
 * an attempt, so a NATS outage neither loses the outcome nor runs the command again.
 */
export function createJobProcessor(options: JobProcessorOptions): JobProcessor {
  const tracer = getTracer('scheduler');
  const publish = <N extends 'job.started' | 'job.done' | 'job.failed'>(name: N, event: EventOf<N>) =>
    publishWithRetry(options.bus, name, event, { logger: options.logger, signal: options.stopping, deadlineMs: options.publishDeadlineMs });

  return async (job, token, cancel) => {
    const parsed = jobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      options.logger.error({ jobId: job.id, err: parsed.error.message }, 'job data is invalid; failing the job');
      throw new UnrecoverableError(`invalid job data: ${parsed.error.message}`);
    }
    const data = parsed.data;
    const jobId = job.id ?? '';
    // Numbers run on across an operator's retry; the limit counts tries in this series only.
    const attempt = data.attemptBase + job.attemptsMade + 1;
    const final = isFinalAttempt(job.attemptsMade + 1, job.opts.attempts ?? 1);
    const logger = options.logger.child({ jobId, fileId: data.fileId, pipeline: data.pipeline, attempt });
    const base = { jobId, fileId: data.fileId, pipeline: data.pipeline, instrument: data.instrument, sha256: data.sha256, attempt, worker: options.instance };

    const putBack = async (delayMs: number, why: string): Promise<never> => {
      if (!token) throw new Error(`cannot put job ${jobId} back without its lock token`);
      await job.moveToDelayed(Date.now() + delayMs, token);
      logger.warn({ delayMs, why }, 'job put back without using an attempt');
      throw new DelayedError(why);
    };

    const report = async (outcome: PendingOutcome): Promise<void> => {
      try {
        if (outcome.name === 'job.done') await publish('job.done', outcome.event);
        else await publish('job.failed', outcome.event);
      } catch (err) {
        if (isPermanent(err)) throw err;
        await job.updateData({ ...data, pendingOutcome: outcome });
        await putBack(options.stopping.aborted ? 0 : (options.retryReportMs ?? 10_000), `outcome not published: ${errorMessage(err)}`);
      }
    };

    // What BullMQ should see once the outcome is on the bus; counted here, so an outcome
    // reported late (after a bus outage) is counted once, when it is reported.
    const settle = (outcome: PendingOutcome, output: string): JobResult => {
      schedulerMetrics.jobs.inc({ pipeline: data.pipeline, outcome: outcome.name === 'job.done' ? 'done' : outcome.event.final ? 'failed' : 'retried' });
      if (outcome.name === 'job.done') return { exitCode: outcome.event.exitCode, durationMs: outcome.event.durationMs, output };
      if (outcome.event.final) throw new UnrecoverableError(outcome.event.error);
      throw new CommandFailedError(outcome.event.error);
    };

    const fail = async (error: string, exitCode: number | null, isFinal: boolean): Promise<JobResult> => {
      const outcome: PendingOutcome = { name: 'job.failed', event: { ...base, at: new Date().toISOString(), exitCode, error, final: isFinal } };
      await report(outcome);
      logger.warn({ error, final: isFinal }, 'job failed');
      return settle(outcome, '');
    };

    const parent = extractTraceContext(data.trace);
    const attributes = { 'ferry.job_id': jobId, 'ferry.pipeline': data.pipeline, 'ferry.file_id': data.fileId, 'ferry.attempt': attempt };
    return withSpan(tracer, `job ${data.pipeline}`, { kind: SpanKind.CONSUMER, parent, attributes }, async () => {
      // A previous run of this attempt finished but could not report: report only.
      if (data.pendingOutcome && data.pendingOutcome.event.attempt === attempt) {
        await report(data.pendingOutcome);
        return settle(data.pendingOutcome, '');
      }
      if (options.stopping.aborted) return putBack(0, 'worker is stopping');

      const pipeline = options.pipelines.get(data.pipeline);
      if (!pipeline) return fail(`pipeline ${data.pipeline} is not configured on worker ${options.instance}`, null, true);
      if (pipeline.version !== data.version) {
        logger.warn({ queuedVersion: data.version, runningVersion: pipeline.version }, 'running the configured pipeline version, not the queued one');
      }

      try {
        await publish('job.started', { ...base, at: new Date().toISOString() });
      } catch (err) {
        if (isPermanent(err)) throw err;
        return putBack(options.stopping.aborted ? 0 : (options.retryReportMs ?? 10_000), `job.started not published: ${errorMessage(err)}`);
      }

      let localPath: string | undefined;
      const root = options.instrumentRoots[data.instrument] ?? data.root;
      try {
        localPath = root ? instrumentFilePath(root, data.path) : undefined;
      } catch (err) {
        return fail(errorMessage(err), null, true);
      }
      if (!root) logger.warn({ instrument: data.instrument }, 'no local folder for this instrument (INSTRUMENT_ROOTS, or the watcher\'s folder); FERRY_FILE_PATH is not set');

      const env = buildCommandEnv({
        // A cluster job gets Ferry's variables only: the worker's environment means nothing there.
        base: pipeline.slurm ? {} : (options.baseEnv ?? process.env),
        job: { ...data, jobId, attempt },
        localPath,
        traceparent: injectTraceContext({}).traceparent,
      });
      env.FERRY_WORKER = options.instance;
      logger.info('job started');
      let result: CommandResult;
      if (pipeline.slurm) {
        const resume = data.slurmJob?.attempt === attempt ? data.slurmJob : undefined;
        result = await runSlurmJob({
          settings: pipeline.slurm,
          env,
          jobName: `ferry-${data.pipeline}`,
          timeoutMs: pipeline.timeoutMs,
          stopping: options.stopping,
          cancel,
          resume,
          onSubmitted: (submitted) => job.updateData({ ...data, slurmJob: { ...submitted, attempt } }),
          logger,
        });
      } else if (pipeline.command) {
        result = await runCommand({
          command: pipeline.command,
          env,
          timeoutMs: pipeline.timeoutMs,
          signal: cancel ? AbortSignal.any([options.stopping, cancel]) : options.stopping,
          killGraceMs: options.killGraceMs,
        });
      } else {
        return fail(`pipeline ${data.pipeline} has neither a command nor a slurm section`, null, true);
      }

      if (result.end.kind === 'aborted' && options.stopping.aborted) return putBack(0, 'worker stopped while the command ran');
      schedulerMetrics.jobSeconds.observe({ pipeline: data.pipeline }, result.durationMs / 1000);
      if (succeeded(result)) {
        const outcome: PendingOutcome = { name: 'job.done', event: { ...base, at: new Date().toISOString(), exitCode: 0, durationMs: result.durationMs } };
        await report(outcome);
        logger.info({ durationMs: result.durationMs }, 'job done');
        return settle(outcome, result.output);
      }
      // A cancelled job is not retried: someone decided it should not run.
      const isFinal = final || result.end.kind === 'aborted';
      return fail(describeFailure(result), reportedExitCode(result.end), isFinal);
    });
  };
}

/** The pipelines by name, for {@link JobProcessorOptions.pipelines}. */
export function pipelinesByName(pipelines: readonly Pipeline[]): Map<string, Pipeline> {
  return new Map(pipelines.map((p) => [p.name, p]));
}
