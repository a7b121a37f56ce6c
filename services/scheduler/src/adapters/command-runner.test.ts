
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from './command-runner.js';
import { waitFor } from '../testing/harness.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** True when the process is gone (or a zombie waiting for a parent that is not us). */
async function isGone(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || / Z /.test(stat);
}

describe('runCommand', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cmd-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports exit code 0, the output and the duration', async () => {
    const r = await runCommand({ command: 'echo out; echo err >&2', env, timeoutMs: 10_000 });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 0 });
    expect(r.output).toContain('out\n');
    expect(r.output).toContain('err\n');
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('passes the environment and nothing else', async () => {
    const r = await runCommand({ command: 'test "$FERRY_FILE_ID" = f1 && test -z "$HOME_NOT_PASSED" && echo "$FERRY_FILE_ID"', env: { ...env, FERRY_FILE_ID: 'f1' }, timeoutMs: 10_000 });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 0 });
    expect(r.output).toBe('f1\n');
  });

  it('reports a non-zero exit code with the tail of a long output', async () => {
    const r = await runCommand({ command: 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo boom >&2; exit 3', env, timeoutMs: 10_000 });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 3 });
    expect(Buffer.byteLength(r.output)).toBeLessThanOrEqual(4096 + 3);
    expect(r.output.startsWith('…')).toBe(true);
    expect(r.output.trimEnd().endsWith('boom')).toBe(true);
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(dir, 'pid');
    const r = await runCommand({ command: `sleep 30 & echo $! > ${pidFile}; echo started; wait`, env, timeoutMs: 300 });
    expect(r.end).toEqual({ kind: 'timed-out', timeoutMs: 300 });
    expect(r.output).toContain('started');
    expect(r.durationMs).toBeLessThan(5000);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor('the background sleep to be killed', () => isGone(pid));
  });

  it('uses SIGKILL when the command ignores SIGTERM', async () => {
    const r = await runCommand({ command: "trap '' TERM; sleep 30 & wait; sleep 30", env, timeoutMs: 200, killGraceMs: 200 });
    expect(r.end.kind).toBe('timed-out');
    expect(r.durationMs).toBeLessThan(5000);
  });

  it('does not wait for a leftover background process after the shell exits', async () => {
    const pidFile = join(dir, 'pid');
    const r = await runCommand({ command: `sleep 30 & echo $! > ${pidFile}; exit 0`, env, timeoutMs: 10_000, killGraceMs: 500 });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 0 });
    expect(r.durationMs).toBeLessThan(5000);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor('the leftover sleep to be killed', () => isGone(pid));
  });

  it('stops when aborted and says why', async () => {
    const ac = new AbortController();
    const running = runCommand({ command: 'echo ready; sleep 30', env, timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort('worker is stopping'), 100);
    const r = await running;
    expect(r.end).toEqual({ kind: 'aborted', reason: 'worker is stopping' });
  });

  it('does not start when already aborted', async () => {
    const r = await runCommand({ command: 'sleep 30', env, timeoutMs: 10_000, signal: AbortSignal.abort('no') });
    expect(r.end).toEqual({ kind: 'aborted', reason: 'no' });
  });

  it('reports a command that cannot start', async () => {
    const r = await runCommand({ command: 'true', env, cwd: join(dir, 'missing'), timeoutMs: 10_000 });
    expect(r.end.kind).toBe('spawn-failed');
    const bad = await runCommand({ command: 'true', env: { ...env, BAD: 'a\0b' }, timeoutMs: 10_000 });
    expect(bad.end.kind).toBe('spawn-failed');
  });
});
