import { describe, expect, it } from 'vitest';
import { describeFailure, formatDuration, isFinalAttempt, reportedExitCode, succeeded, type CommandResult } from './job-outcome.js';

const result = (end: CommandResult['end'], output = ''): CommandResult => ({ end, output, durationMs: 10 });

describe('describeFailure', () => {
  it('names the cause first, then the output tail', () => {
    expect(describeFailure(result({ kind: 'exited', exitCode: 3 }, 'bad input\n'))).toBe('exit code 3: bad input');
    expect(describeFailure(result({ kind: 'exited', exitCode: 1 }))).toBe('exit code 1');
    expect(describeFailure(result({ kind: 'timed-out', timeoutMs: 5000 }))).toBe('timed out after 5s');
    expect(describeFailure(result({ kind: 'signalled', signal: 'SIGKILL' }, 'oom'))).toBe('killed by SIGKILL: oom');
    expect(describeFailure(result({ kind: 'spawn-failed', message: 'spawn sh ENOENT' }))).toBe('could not start the command: spawn sh ENOENT');
    expect(describeFailure(result({ kind: 'aborted', reason: 'cancelled by operator' }))).toBe('stopped: cancelled by operator');
  });
});

describe('succeeded and reportedExitCode', () => {
  it('succeeds only on exit code 0', () => {
    expect(succeeded(result({ kind: 'exited', exitCode: 0 }))).toBe(true);
    expect(succeeded(result({ kind: 'exited', exitCode: 2 }))).toBe(false);
    expect(succeeded(result({ kind: 'timed-out', timeoutMs: 1 }))).toBe(false);
  });

  it('reports an exit code only when the command exited by itself', () => {
    expect(reportedExitCode({ kind: 'exited', exitCode: 7 })).toBe(7);
    expect(reportedExitCode({ kind: 'timed-out', timeoutMs: 1 })).toBeNull();
    expect(reportedExitCode({ kind: 'spawn-failed', message: 'x' })).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [5000, '5s'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_900_000, '1h5m'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('isFinalAttempt', () => {
  it('is final when the attempt reaches the allowed attempts', () => {
    expect(isFinalAttempt(1, 3)).toBe(false);
    expect(isFinalAttempt(2, 3)).toBe(false);
    expect(isFinalAttempt(3, 3)).toBe(true);
    expect(isFinalAttempt(1, 1)).toBe(true);
    expect(isFinalAttempt(1, 0)).toBe(true);
  });
});
