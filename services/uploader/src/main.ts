import { Bus, runService } from '@ferry/common';
import { createUploader } from './app.js';
import { loadConfig } from './config.js';

await runService({
  service: 'uploader',
  loadConfig,
  async start({ config, logger, shutdown }) {
    const bus = await Bus.connect({
      servers: config.NATS_URL,
      prefix: config.NATS_PREFIX,
      name: `uploader-${config.FERRY_INSTANCE}`,
      service: 'uploader',
      logger,
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
      credsFile: config.NATS_CREDS_FILE,
    });
    const uploader = createUploader({ bus, logger, config });
    // Finish (or hand back) the files in hand before the connection drains.
    shutdown.add('uploader', () => uploader.stop());
    shutdown.add('nats', () => bus.close());
    await bus.ensureStreams();
    await uploader.start();
  },
});
