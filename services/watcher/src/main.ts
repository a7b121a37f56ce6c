import { Bus, runService } from '@ferry/common';
import { createWatcher } from './app.js';
import { loadConfig } from './config.js';

await runService({
  service: 'watcher',
  loadConfig,
  async start({ config, logger, shutdown }) {
    const bus = await Bus.connect({
      servers: config.NATS_URL,
      prefix: config.NATS_PREFIX,
      name: `watcher-${config.INSTRUMENT}-${config.FERRY_INSTANCE}`,
      service: 'watcher',
      logger,
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
      credsFile: config.NATS_CREDS_FILE,
    });
    const watcher = createWatcher({ bus, logger, config });
    // Stop watching before the connection drains, so nothing is announced into a closing bus.
    shutdown.add('watcher', () => watcher.stop());
    shutdown.add('nats', () => bus.close());
    await bus.ensureStreams();
    await watcher.start();
  },
});
