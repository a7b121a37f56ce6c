import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitForPort, type ServerProcess } from './process.js';

/** A running PostgreSQL server. */
export interface PostgresServer extends ServerProcess {
  /** URL of the `postgres` database as the `postgres` superuser. */
  url: string;
  port: number;
  /** The folder holding `pg_dump`, `pg_restore` and friends of the same major version. */
  binDir: string;
  urlFor(database: string): string;
}

/** The newest PostgreSQL install's bin folder (Debian's layout first, then PATH). */
export function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'dirname "$(command -v postgres)"'], { encoding: 'utf8' });
  const dir = which.stdout.trim();
  if (which.status === 0 && dir && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error('PostgreSQL server binaries not found: install the postgresql package (Debian) or put initdb and postgres on PATH');
}

// initdb and postgres refuse to run as root: run them as the `postgres` user then.
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await chown(path, uid, gid);
  }
}

/**
 * Starts PostgreSQL on a free port with trust authentication on 127.0.0.1, creating the
 * cluster with initdb when `dataDir` holds none. Tests turn fsync off; local mode keeps it.
 */
export async function startPostgres(options: { dataDir?: string; port?: number; durable?: boolean } = {}): Promise<PostgresServer> {
  const binDir = findPostgresBin();
  const port = options.port ?? (await freePort());
  const baseDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ferry-pg-')));
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'sock');
  const user = runAs();
  await mkdir(socketDir, { recursive: true });
  if (user.uid !== undefined && user.gid !== undefined) await chownTree(baseDir, user.uid, user.gid);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const init = spawnSync(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      ...user,
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const tuning = options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const server = startProcess({
    name: 'postgres',
    command: join(binDir, 'postgres'),
    args: ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', ...tuning],
    stopSignal: 'SIGINT',
    ...user,
  });
  try {
    await waitForPort(port, 30_000, 'postgres', () => server.child.exitCode === null);
    // The port opens before the server accepts queries; pg_isready tells when it does.
    const deadline = Date.now() + 30_000;
    while (spawnSync(join(binDir, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']).status !== 0) {
      if (Date.now() > deadline) throw new Error('postgres not ready within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  }
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return Object.assign(server, { url: urlFor('postgres'), port, binDir, urlFor });
}
