import { Bus, createDatabase, type Database } from '@ferry/common';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import type { Kysely } from 'kysely';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Test-only helpers for integration tests: a local HTTP receiver and a test's own servers. */

/** One request the receiver got. */
export interface Received {
  path: string;
  body: unknown;
  at: number;
}

/** A stand-in for Slack, Teams or an on-call webhook on 127.0.0.1 that can refuse the first N requests. */
export class TestReceiver {
  readonly requests: Received[] = [];
  /** Requests answered with `failStatus` before one is accepted. */
  failures = 0;
  failStatus = 503;
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.failures > 0) {
          this.failures--;
          res.writeHead(this.failStatus).end('unavailable');
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ path: req.url ?? '/', body: text ? (JSON.parse(text) as unknown) : undefined, at: Date.now() });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    const { port } = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${port}${path}`;
  }

  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

/** A test's own NATS prefix and database, with cleanups run in reverse order. */
export async function integration(label: string): Promise<{ iso: Isolated; bus: Bus; db: Kysely<Database>; cleanup: (fn: () => Promise<void> | void) => void; close: () => Promise<void> }> {
  const iso = await isolate(label);
  const logger = testLogger('monitor');
  const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: label, service: 'monitor', logger });
  await bus.ensureStreams();
  const db = createDatabase({ url: iso.databaseUrl, maxConnections: 6 });
  const cleanups: (() => Promise<void> | void)[] = [];
  return {
    iso,
    bus,
    db,
    cleanup: (fn) => cleanups.push(fn),
    close: async () => {
      for (const fn of cleanups.splice(0).reverse()) await fn();
      await bus.close();
      await db.destroy();
    },
  };
}
