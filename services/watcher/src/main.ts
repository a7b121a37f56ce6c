import { connectBus } from '@ferry/common/bus';
import { errorMessage } from '@ferry/common/errors';
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
    try {
      await bus.ensureStreams();
    } catch (err) {
      // An instrument PC's NATS user may only announce (deploy/nats/auth.conf): the core
      // services create the streams, and publishing needs nothing more.
      if (!/permissions violation/i.test(errorMessage(err))) throw err;
      logger.info({ err: errorMessage(err) }, 'streams are managed elsewhere: this NATS user may not change them');
    }
    await watcher.start();
  },
});
