import { errorMessage } from '@ferry/common';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { OutputTail } from '../domain/output-tail.js';
import type { CommandEnd, CommandResult } from '../domain/job-outcome.js';

/** Options for {@link runCommand}. */
export interface RunCommandOptions {
  /** A shell command, run with `sh -c`. */
  command: string;
  env: Record<string, string>;
  cwd?: string | undefined;
  timeoutMs: number;
  /** Aborting stops the command the same way a timeout does, but reports `aborted`. */
  signal?: AbortSignal | undefined;
  /** Time between SIGTERM and SIGKILL when the command is stopped (default 5 s). */
  killGraceMs?: number;
  /** Bytes of output kept for the result (default 4 KiB). */
  tailBytes?: number;
}

/**
 * Runs a pipeline command in its own process group and resolves (never rejects) with how
 * it ended. The group matters: `sh -c` starts children of its own, and killing only the
 * shell on a timeout would leave the real work running.
 */
export function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const started = performance.now();
  const tail = new OutputTail(options.tailBytes);
  const graceMs = options.killGraceMs ?? 5000;

  return new Promise<CommandResult>((resolve) => {
    let end: CommandEnd | undefined;
    let settled = false;
    let hardKill: NodeJS.Timeout | undefined;
    let drain: NodeJS.Timeout | undefined;

    const finish = (fallback: CommandEnd): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(drain);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ end: end ?? fallback, output: tail.toString(), durationMs: Math.round(performance.now() - started) });
    };

    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn('sh', ['-c', options.command], { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // spawn throws synchronously on bad arguments, such as a NUL byte in the environment.
      resolve({ end: { kind: 'spawn-failed', message: errorMessage(err) }, output: '', durationMs: 0 });
      return;
    }

    /** True when something in the group was left to signal. */
    const killGroup = (signal: NodeJS.Signals): boolean => {
      if (child.pid === undefined) return false;
      try {
        process.kill(-child.pid, signal);
        return true;
      } catch (err) {
        // ESRCH: the whole group is already gone, which is what we wanted. Anything else
        // (EPERM) leaves at least the shell itself to signal.
        return (err as NodeJS.ErrnoException).code === 'ESRCH' ? false : child.kill(signal);
      }
    };

    // SIGTERM first so tools can clean up; SIGKILL after the grace for those that do not
    // stop. The SIGKILL timer survives the result on purpose: a straggler must not live on.
    const terminateGroup = (): void => {
      if (!killGroup('SIGTERM') || hardKill) return;
      hardKill = setTimeout(() => killGroup('SIGKILL'), graceMs);
      hardKill.unref();
    };

    const stop = (why: CommandEnd): void => {
      if (end || settled) return;
      end = why;
      terminateGroup();
    };

    const onAbort = (): void => stop({ kind: 'aborted', reason: abortReason(options.signal) });
    const timeout = setTimeout(() => stop({ kind: 'timed-out', timeoutMs: options.timeoutMs }), options.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));

    child.on('error', (err) => {
      // 'error' without a pid means the shell never started; 'close' may not follow.
      if (child.pid === undefined) finish({ kind: 'spawn-failed', message: errorMessage(err) });
    });

    child.on('exit', () => {
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
      // Whatever the command left running in its group would keep the pipes open and
      // outlive the job; a job's processes end with it.
      terminateGroup();
      drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, Math.min(graceMs, 2000));
      drain.unref();
    });

    child.on('close', (code, signal) => {
      finish(code !== null ? { kind: 'exited', exitCode: code } : { kind: 'signalled', signal: signal ?? 'unknown signal' });
    });

    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason === undefined) return 'aborted';
  return typeof reason === 'string' ? reason : errorMessage(reason);
}
