import { connectBus, runService } from '@ferry/common';
import { createUploader } from './app.js';
import { loadConfig } from './config.js';

await runService({
  service: 'uploader',
  loadConfig,
  async start({ config, logger, shutdown }) {
    const bus = await connectBus(config, 'uploader', logger);
    const uploader = createUploader({ bus, logger, config });
    // Finish (or hand back) the files in hand before the connection drains.
    shutdown.add('uploader', () => uploader.stop());
    shutdown.add('nats', () => bus.close());
    await bus.ensureStreams();
    await uploader.start();
  },
});
