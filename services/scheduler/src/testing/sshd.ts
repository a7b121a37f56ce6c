import { freePort, startProcess, waitForPort, type ServerProcess } from '@ferry/testkit';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SlurmSettings } from '../domain/pipeline.js';

const SSHD = '/usr/sbin/sshd';
/** The stand-in sbatch, squeue, sacct and scancel. */
export const FAKE_SLURM_BIN = fileURLToPath(new URL('./fake-slurm', import.meta.url));

/** Why a local sshd cannot run here, or undefined when it can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is missing (Debian: apt-get install openssh-server)`;
  if (process.getuid?.() !== 0) return 'sshd must run as root to log users in';
  return undefined;
}

/** A local SSH server whose logins see the stand-in Slurm commands on their PATH. */
export interface TestSshd {
  /** The connection settings a pipeline's `slurm:` section would hold. */
  target: Pick<SlurmSettings, 'host' | 'port' | 'user' | 'identityFile' | 'knownHostsFile'>;
  /** Where the stand-ins keep job scripts, arguments, exit codes and cancellations. */
  state: string;
  /** A folder for job output files. */
  work: string;
  stop(): Promise<void>;
}

/**
 * Starts sshd on 127.0.0.1 and a free port, with a fresh host key, one authorised client
 * key and the stand-in Slurm commands first on the PATH of every session.
 */
export async function startTestSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, file)]);
  keygen('host_key');
  keygen('client_key');
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')));
  await chmod(join(dir, 'authorized_keys'), 0o600);
  const state = join(dir, 'state');
  const work = join(dir, 'work');
  await mkdir(state);
  await mkdir(work);
  // sshd's privilege separation needs this folder; it is absent until sshd ran once.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'ListenAddress 127.0.0.1',
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `SetEnv PATH=${FAKE_SLURM_BIN}:/usr/local/bin:/usr/bin:/bin FAKE_SLURM_STATE=${state}`,
      '',
    ].join('\n'),
  );
  const hostKey = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  const server: ServerProcess & { child: { exitCode: number | null } } = startProcess({ name: 'sshd', command: SSHD, args: ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port)] });
  try {
    await waitForPort(port, 15_000, 'sshd', () => server.child.exitCode === null);
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  }
  return {
    target: { host: '127.0.0.1', port, user: 'root', identityFile: join(dir, 'client_key'), knownHostsFile: join(dir, 'known_hosts') },
    state,
    work,
    async stop() {
      await server.stop();
      // Jobs the stand-in started and nobody cancelled.
      execFileSync('sh', ['-c', `for p in ${state}/*.pid; do [ -f "$p" ] && kill -KILL -- "-$(cat "$p")" 2>/dev/null; done; true`]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
