import { connectBus, createDatabase, createS3Client, migrateToLatest, openZoneReader, runService } from '@ferry/common';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, type GatewayServer } from './app.js';
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
    // Live streams never end by themselves, so they are closed before the server waits
    // for requests; then pending request statistics are written, while the database is open.
    const http: { server?: Server; gateway?: GatewayServer } = {};
    shutdown.add('http', async () => {
      http.gateway?.events.closeAll();
      if (http.server) await closeServer(http.server);
      await http.gateway?.stop();
    });

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

    const gateway = createGateway({
      db,
      bus,
      zones,
      logger,
      options: {
        sessionTtlMs: config.SESSION_TTL,
        secureCookies: config.FERRY_COOKIE_SECURE,
        signInLimit: config.SIGNIN_RATE_LIMIT,
        signInWindowMs: config.SIGNIN_RATE_WINDOW,
        metricsToken: config.METRICS_TOKEN,
        statsFlushMs: config.REQUEST_STATS_FLUSH,
        eventsPollMs: config.EVENTS_POLL_INTERVAL,
        eventsHeartbeatMs: config.EVENTS_HEARTBEAT,
        eventsMaxClients: config.EVENTS_MAX_CLIENTS,
        trustProxy: config.TRUST_PROXY,
        ...(config.WEB_DIR ? { webDir: config.WEB_DIR } : {}),
      },
    });
    http.gateway = gateway;
    const server = gateway.app.listen(config.PORT, config.HOST);
    http.server = server;
    await once(server, 'listening');
    const address = server.address() as AddressInfo;
    logger.info({ host: address.address, port: address.port }, 'gateway listening');
  },
});
