import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitForPort, type ServerProcess } from './process.js';

/** A running redis-server. */
export interface RedisServer extends ServerProcess {
  url: string;
  port: number;
}

/**
 * Starts `redis-server` on a free port. With `persistent`, it writes an append-only file
 * under `dataDir` (local mode); tests keep nothing on disk.
 */
export async function startRedis(options: { dataDir?: string; port?: number; persistent?: boolean } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ferry-redis-')));
  const persistence = options.persistent ? ['--appendonly', 'yes', '--save', '60 1'] : ['--appendonly', 'no', '--save', ''];
  const server = startProcess({
    name: 'redis-server',
    command: 'redis-server',
    // BullMQ needs keys never evicted: noeviction.
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--maxmemory-policy', 'noeviction', ...persistence],
  });
  try {
    await waitForPort(port, 15_000, 'redis-server', () => server.child.exitCode === null);
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  }
  return Object.assign(server, { url: `redis://127.0.0.1:${port}`, port });
}
