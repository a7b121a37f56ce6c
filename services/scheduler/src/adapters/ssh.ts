import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputTail } from '../domain/output-tail.js';

/** Where and as whom to run remote commands. */
export interface SshTarget {
  host: string;
  port: number;
  user?: string | undefined;
  identityFile?: string | undefined;
  knownHostsFile?: string | undefined;
}

/** How one remote command ended. `code` 255 is ssh's own failure (connection, authentication). */
export interface RemoteResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The exit status ssh uses for its own errors, as opposed to the remote command's. */
export const SSH_FAILED = 255;

let controlDir: string | undefined;

/** This process's folder for ssh control sockets, private to the user. */
function controlPath(): string {
  controlDir ??= join(tmpdir(), `ferry-ssh-${process.pid}`);
  mkdirSync(controlDir, { recursive: true, mode: 0o700 });
  return join(controlDir, '%C');
}

/**
 * The arguments of the system `ssh` client for one non-interactive command. Host keys
 * are always checked (a job's script and the file's URL go to that host); batch mode so
 * a missing key fails at once instead of asking for a password. Connections are shared
 * (ControlMaster) for a minute: polling many jobs must not mean a handshake per poll,
 * which login nodes rate-limit.
 */
export function sshArgs(target: SshTarget, remoteCommand: string): string[] {
  return [
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${controlPath()}`,
    '-o', 'ControlPersist=60',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=15',
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'LogLevel=ERROR',
    ...(target.knownHostsFile ? ['-o', `UserKnownHostsFile=${target.knownHostsFile}`] : []),
    ...(target.identityFile ? ['-i', target.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(target.user ? ['-l', target.user] : []),
    '-p', String(target.port),
    target.host,
    '--',
    remoteCommand,
  ];
}

/**
 * Runs one command on the remote host with the system ssh client and resolves (never
 * rejects) with its exit status and output (the last 64 KiB of each stream).
 */
export function runRemote(target: SshTarget, remoteCommand: string, options: { input?: string; timeoutMs?: number } = {}): Promise<RemoteResult> {
  return new Promise((resolve) => {
    const stdout = new OutputTail(65_536);
    const stderr = new OutputTail(65_536);
    const child = spawn('ssh', sshArgs(target, remoteCommand), { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/' } });
    const timer = setTimeout(() => {
      stderr.push(`\nssh: no answer within ${options.timeoutMs ?? 60_000} ms`);
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    // EPIPE when the remote side does not read its input: its exit status says what happened.
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: SSH_FAILED, stdout: '', stderr: `cannot run ssh: ${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? SSH_FAILED, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    child.stdin.end(options.input ?? '');
  });
}
