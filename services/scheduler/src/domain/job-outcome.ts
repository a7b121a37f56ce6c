/** How one run of a pipeline command ended. */
export type CommandEnd =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'signalled'; signal: string }
  | { kind: 'timed-out'; timeoutMs: number }
  | { kind: 'spawn-failed'; message: string }
  /** Stopped by the worker (shutdown or cancellation), not by the command's own doing. */
  | { kind: 'aborted'; reason: string }
  /** A cluster job that ended other than by its script's exit: cancelled, out of memory, node failure. */
  | { kind: 'cluster-ended'; state: string; exitCode: number | null }
  /** The job could not be submitted or followed (ssh or the cluster refused). */
  | { kind: 'submit-failed'; message: string };

/** The end of a run together with what it printed last and how long it took. */
export interface CommandResult {
  end: CommandEnd;
  /** The last few KiB of stdout and stderr together. */
  output: string;
  durationMs: number;
}

/** True when the run succeeded. */
export function succeeded(result: CommandResult): boolean {
  return result.end.kind === 'exited' && result.end.exitCode === 0;
}

/** The exit code a `job.failed` event reports: null when the command did not exit by itself. */
export function reportedExitCode(end: CommandEnd): number | null {
  if (end.kind === 'exited') return end.exitCode;
  if (end.kind === 'cluster-ended') return end.exitCode;
  return null;
}

/**
 * The one-line reason a try failed, followed by the output tail: what an operator reads
 * first, so it names the cause (`exit code 3`, `timed out after 5s`) before any output.
 */
export function describeFailure(result: CommandResult): string {
  const reason = failureReason(result.end);
  const tail = result.output.trim();
  return tail ? `${reason}: ${tail}` : reason;
}

function failureReason(end: CommandEnd): string {
  switch (end.kind) {
    case 'exited':
      return `exit code ${end.exitCode}`;
    case 'signalled':
      return `killed by ${end.signal}`;
    case 'timed-out':
      return `timed out after ${formatDuration(end.timeoutMs)}`;
    case 'spawn-failed':
      return `could not start the command: ${end.message}`;
    case 'aborted':
      return `stopped: ${end.reason}`;
    case 'cluster-ended':
      return `Slurm job ended ${end.state}${end.exitCode !== null ? ` with exit code ${end.exitCode}` : ''}`;
    case 'submit-failed':
      return `could not run the Slurm job: ${end.message}`;
  }
}

/** A short human duration: `250ms`, `5s`, `1m30s`, `2h`, `1h5m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const s = ms / 1000;
    return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
  }
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
}

/** True when a failed try leaves no retry: `attempt` counts from 1. */
export function isFinalAttempt(attempt: number, attempts: number): boolean {
  return attempt >= Math.max(1, attempts);
}
