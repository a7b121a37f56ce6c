import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitForPort, type ServerProcess } from './process.js';

/** A running S3-protocol server (s3rver). */
export interface S3Server extends ServerProcess {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** Starts s3rver in its own process on a free port; its fixed credentials are S3RVER/S3RVER. */
export async function startS3(options: { dataDir?: string; port?: number } = {}): Promise<S3Server> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ferry-s3-')));
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const server = startProcess({
    name: 's3rver',
    command: process.execPath,
    args: [bin, '-d', dataDir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--no-vhost-buckets'],
  });
  try {
    await waitForPort(port, 15_000, 's3rver', () => server.child.exitCode === null);
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  }
  return Object.assign(server, {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
  });
}
