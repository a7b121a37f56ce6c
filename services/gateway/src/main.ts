import { connectBus, createDatabase, createS3Client, migrateToLatest, openZoneReader, runService } from '@ferry/common';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from './app.js';
import { loadConfig } from './config.js';

/** Stops accepting connections and waits for in-flight requests; idle keep-alive sockets are closed at once. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}

await runService({
  service: 'gateway',
  loadConfig,
  async start({ config, logger, shutdown }) {
    // Shutdown steps run in the order added: stop taking requests first, then close
    // what the requests use. So the HTTP step is registered before the server exists.
    const http: { server?: Server } = {};
    shutdown.add('http', () => (http.server ? closeServer(http.server) : undefined));

    const bus = await connectBus(config, 'gateway', logger);
    shutdown.add('nats', () => bus.close());

    const zone = config.zone;
    const s3 = zone.kind === 's3' ? createS3Client(zone) : undefined;
    if (s3) shutdown.add('s3', () => s3.destroy());
    const zones = new Map([[zone.name, openZoneReader(zone, s3)]]);

    const db = createDatabase({ url: config.DATABASE_URL, maxConnections: config.DATABASE_POOL_MAX, applicationName: 'ferry-gateway' });
    shutdown.add('database', () => db.destroy());
    // The gateway may start before the monitor; both migrating is safe (Kysely takes a lock).
    const applied = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

    const server = createServer({ db, bus, zones, logger }).listen(config.PORT, config.HOST);
    http.server = server;
    await once(server, 'listening');
    const address = server.address() as AddressInfo;
    logger.info({ host: address.address, port: address.port }, 'gateway listening');
  },
});
