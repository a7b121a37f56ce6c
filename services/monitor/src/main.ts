import { connectBus, createDatabase, migrateToLatest, runService } from '@ferry/common';
import { createMonitor } from './app.js';
import { loadConfig } from './config.js';

await runService({
  service: 'monitor',
  loadConfig,
  async start({ config, logger, shutdown }) {
    const db = createDatabase({ url: config.DATABASE_URL, maxConnections: config.DATABASE_POOL_MAX, applicationName: 'ferry-monitor' });
    const bus = await connectBus(config, 'monitor', logger);
    const monitor = createMonitor({
      bus,
      db,
      logger,
      instance: config.FERRY_INSTANCE,
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL,
      projectionConcurrency: config.PROJECTION_CONCURRENCY,
      alerting: {
        settings: config.alerting,
        receivers: config.receivers,
        publicUrl: config.FERRY_PUBLIC_URL,
        redisUrl: config.REDIS_URL,
        zones: config.zone ? [config.zone] : [],
      },
    });
    // Stop taking events and give up leadership, then drain NATS, then close the pool the handlers use.
    shutdown.add('monitor', () => monitor.stop());
    shutdown.add('nats', () => bus.close());
    shutdown.add('postgres', () => db.destroy());
    const applied = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    if (config.receivers.length === 0) logger.warn('no SLACK_WEBHOOK_URL, TEAMS_WEBHOOK_URL or ALERT_WEBHOOK_URL: alerts are stored and published, not sent');
    await bus.ensureStreams();
    await monitor.start();
  },
});
