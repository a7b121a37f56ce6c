import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitForPort, type ServerProcess } from './process.js';

/** A running nats-server with JetStream. */
export interface NatsServer extends ServerProcess {
  url: string;
  port: number;
}

/** Starts `nats-server -js` on a free port, storing JetStream data under `dataDir`. */
export async function startNats(options: { dataDir?: string; port?: number; binary?: string } = {}): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ferry-nats-')));
  const server = startProcess({
    name: 'nats-server',
    command: options.binary ?? 'nats-server',
    args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dataDir],
  });
  try {
    await waitForPort(port, 15_000, 'nats-server', () => server.child.exitCode === null);
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  }
  return Object.assign(server, { url: `nats://127.0.0.1:${port}`, port });
}
