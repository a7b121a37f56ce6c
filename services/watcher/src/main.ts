import { connectBus, runService } from '@ferry/common';
import { createWatcher } from './app.js';
import { loadConfig } from './config.js';

await runService({
  service: 'watcher',
  loadConfig,
  async start({ config, logger, shutdown }) {
    const bus = await connectBus({ ...config, FERRY_INSTANCE: `${config.INSTRUMENT}-${config.FERRY_INSTANCE}` }, 'watcher', logger);
    const watcher = createWatcher({ bus, logger, config });
    // Stop watching before the connection drains, so nothing is announced into a closing bus.
    shutdown.add('watcher', () => watcher.stop());
    shutdown.add('nats', () => bus.close());
    await bus.ensureStreams();
    await watcher.start();
  },
});
