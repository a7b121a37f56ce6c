import { connectBus } from '@ferry/common/bus';
import { runService } from '@ferry/common/service';
import { createWatcher } from './app.js';
import { loadConfig } from './config.js';

await runService({
  service: 'watcher',
  loadConfig,
  async start({ config, logger, shutdown }) {
    if (config.ignoredEnv.length > 0) logger.warn({ ignored: config.ignoredEnv, file: config.WATCH_CONFIG }, 'WATCH_CONFIG is set: these instrument variables are ignored');
    const only = config.instruments.length === 1 ? config.instruments[0] : undefined;
    const name = only ? `${only.name}-${config.FERRY_INSTANCE}` : config.FERRY_INSTANCE;
    const bus = await connectBus({ ...config, FERRY_INSTANCE: name }, 'watcher', logger);
    const watcher = createWatcher({ bus, logger, config });
    // Stop watching before the connection drains, so nothing is announced into a closing bus.
    shutdown.add('watcher', () => watcher.stop());
    shutdown.add('nats', () => bus.close());
    // An instrument PC's NATS user may only announce (deploy/nats/auth.conf): the bus
    // then leaves the streams to the core, and publishing needs nothing more.
    await bus.ensureStreams();
    await watcher.start();
  },
});
