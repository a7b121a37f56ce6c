import { errorMessage, type Logger } from '@ferry/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandEnd, CommandResult } from '../domain/job-outcome.js';
import type { SlurmSettings } from '../domain/pipeline.js';
import { buildBatchScript, isActiveState, parseSacctOutput, parseSbatchOutput, shellQuote } from '../domain/slurm.js';
import { runRemote, SSH_FAILED, type RemoteResult } from './ssh.js';

/** A submitted Slurm job, as saved in the BullMQ job so another worker can follow it. */
export interface SubmittedSlurmJob {
  id: string;
  /** The job's output file on the cluster. */
  output: string;
  submittedAt: string;
}

/** Options for {@link runSlurmJob}. */
export interface SlurmRunOptions {
  settings: SlurmSettings;
  /** FERRY_* variables exported at the top of the batch script. */
  env: Readonly<Record<string, string>>;
  /** `--job-name`: letters, digits, - and _. */
  jobName: string;
  timeoutMs: number;
  /** The worker is stopping: stop following and leave the cluster job running for the next worker. */
  stopping: AbortSignal;
  /** The job is cancelled: `scancel` it. */
  cancel?: AbortSignal | undefined;
  /** A job submitted by an earlier run of this attempt: followed instead of submitted again. */
  resume?: SubmittedSlurmJob | undefined;
  /** Called once the job is submitted, before waiting for it. */
  onSubmitted: (job: SubmittedSlurmJob) => Promise<void>;
  logger: Logger;
  /** Bytes of the job's output kept for the result (default 4 KiB). */
  tailBytes?: number;
  /** After squeue no longer lists the job, how many polls sacct may take to have a record (default 10). */
  accountingPolls?: number;
}

/**
 * Runs one try of a pipeline on a Slurm cluster: `sbatch --parsable` over SSH, then
 * `squeue` every poll interval and `sacct` once it left the queue, until it ends or the
 * timeout (then `scancel`). Resolves (never rejects) like a local command, with the
 * script's exit code and the tail of its output file.
 */
export async function runSlurmJob(options: SlurmRunOptions): Promise<CommandResult> {
  const { settings } = options;
  const target = settings;
  const started = Date.now();
  const result = (end: CommandEnd, output = '', since = started): CommandResult => ({ end, output, durationMs: Math.max(0, Date.now() - since) });

  let job = options.resume;
  if (!job) {
    const output = `${settings.workDir}/${options.jobName}-%j.out`;
    const args = ['--parsable', `--job-name=${options.jobName}`, `--output=${output}`, ...settings.sbatchArgs].map(shellQuote).join(' ');
    // The folder is created first: sbatch does not create the output file's folder and a
    // job whose output cannot be written fails without a word.
    const submit = await runRemote(target, `mkdir -p ${settings.workDir} && sbatch ${args}`, { input: buildBatchScript(settings.script, options.env), timeoutMs: 60_000 });
    const id = submit.code === 0 ? parseSbatchOutput(submit.stdout) : undefined;
    if (!id) return result({ kind: 'submit-failed', message: describeRemote('sbatch', submit) });
    job = { id, output: output.replace('%j', id), submittedAt: new Date().toISOString() };
    options.logger.info({ slurmJobId: id, host: settings.host }, 'Slurm job submitted');
    await options.onSubmitted(job);
  } else {
    options.logger.info({ slurmJobId: job.id }, 'following a Slurm job submitted by an earlier run');
  }

  const since = Date.parse(job.submittedAt) || started;
  const deadline = since + options.timeoutMs;
  const signal = options.cancel ? AbortSignal.any([options.stopping, options.cancel]) : options.stopping;
  const cancelJob = async (why: string): Promise<void> => {
    const r = await runRemote(target, `scancel ${shellQuote(job.id)}`, { timeoutMs: 60_000 });
    if (r.code !== 0) options.logger.warn({ slurmJobId: job.id, why, err: describeRemote('scancel', r) }, 'scancel failed');
    else options.logger.info({ slurmJobId: job.id, why }, 'Slurm job cancelled');
  };
  const tail = async (): Promise<string> => {
    const r = await runRemote(target, `tail -c ${options.tailBytes ?? 4096} ${job.output}`, { timeoutMs: 60_000 });
    return r.code === 0 ? r.stdout : '';
  };

  let unaccounted = 0;
  for (let first = true; ; first = false) {
    if (!first || options.resume) {
      try {
        await sleep(Math.min(settings.pollIntervalMs, Math.max(0, deadline - Date.now())), undefined, { signal });
      } catch {
        // Aborted while waiting; handled below.
      }
    }
    if (options.stopping.aborted) return result({ kind: 'aborted', reason: abortReason(options.stopping) }, '', since);
    if (options.cancel?.aborted) {
      await cancelJob('cancelled');
      return result({ kind: 'aborted', reason: abortReason(options.cancel) }, await tail(), since);
    }
    if (Date.now() >= deadline) {
      await cancelJob('timed out');
      return result({ kind: 'timed-out', timeoutMs: options.timeoutMs }, await tail(), since);
    }

    const queued = await runRemote(target, `squeue -h -j ${shellQuote(job.id)} -o %T`, { timeoutMs: 60_000 });
    if (queued.code === SSH_FAILED) {
      // The cluster is unreachable for now; the job runs on without us. Keep trying until the timeout.
      options.logger.warn({ slurmJobId: job.id, err: describeRemote('squeue', queued) }, 'cannot reach the cluster; will poll again');
      continue;
    }
    const state = queued.code === 0 ? queued.stdout.trim().split('\n')[0]?.trim() ?? '' : '';
    if (state && isActiveState(state)) continue;

    const accounted = await runRemote(target, `sacct -j ${shellQuote(job.id)} -n -P -o State,ExitCode`, { timeoutMs: 60_000 });
    const end = accounted.code === 0 ? parseSacctOutput(accounted.stdout) : undefined;
    if (!end) {
      // Accounting can lag the queue by a few seconds; a cluster without accounting never answers.
      if (++unaccounted < (options.accountingPolls ?? 10)) continue;
      return result({ kind: 'cluster-ended', state: 'UNKNOWN (left the queue; sacct has no record)', exitCode: null }, await tail(), since);
    }
    const output = await tail();
    if (end.state === 'COMPLETED' || (end.state === 'FAILED' && end.exitCode !== null && end.exitCode !== 0)) {
      return result({ kind: 'exited', exitCode: end.exitCode ?? 0 }, output, since);
    }
    return result({ kind: 'cluster-ended', state: end.state, exitCode: end.exitCode }, output, since);
  }
}

function describeRemote(what: string, r: RemoteResult): string {
  const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join(' ').slice(-1000);
  if (r.code === SSH_FAILED) return `ssh failed${detail ? `: ${detail}` : ''}`;
  return `${what} exited with ${r.code ?? 'a signal'}${detail ? `: ${detail}` : ''}`;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason === undefined) return 'aborted';
  return typeof reason === 'string' ? reason : errorMessage(reason);
}
