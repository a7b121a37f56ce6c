import { runService } from '@ferry/common';
import { createSchedulerService } from './app.js';
import { loadConfig } from './config.js';

// Wiring and signals only: everything else lives in app.ts so local mode can run it too.
await runService({
  service: 'scheduler',
  version: process.env.npm_package_version,
  loadConfig,
  start: async ({ config, logger, shutdown }) => {
    const service = createSchedulerService({ config, logger, version: process.env.npm_package_version });
    // Registered before start so a half-finished start is still cleaned up.
    shutdown.add('scheduler', () => service.stop());
    await service.start();
  },
});
