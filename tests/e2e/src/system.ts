import { Bus, createDatabase, openZoneReader, setupTelemetry, type Database, type Logger } from '@ferry/common';
import { createApiToken, createServer } from '@ferry/gateway';
import { createMonitor, type Monitor } from '@ferry/monitor';
import { createSchedulerService, loadConfig as schedulerConfig } from '@ferry/scheduler';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import { createUploader, loadConfig as uploaderConfig, type Uploader } from '@ferry/uploader';
import { createWatcher, loadConfig as watcherConfig, type Watcher } from '@ferry/watcher';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Express } from 'express';
import type { Kysely } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Spans of every service in this process, for checking that each file is one trace. */
export const spans = new InMemorySpanExporter();
setupTelemetry({ service: 'ferry-e2e', exporters: [spans] });

/** All five services running in this process against the test's own servers. */
export interface System {
  iso: Isolated;
  dir: string;
  app: Express;
  token: string;
  db: Kysely<Database>;
  restartUploader(): Promise<void>;
  restartMonitor(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the system; each service has its own NATS connection, as it would in production. */
export async function startSystem(env: Record<string, string>): Promise<System> {
  const iso = await isolate('e2e');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-e2e-'));
  const state = await mkdtemp(join(tmpdir(), 'ferry-e2e-state-'));
  const fullEnv = { ...iso.env, INSTRUMENT: 'ms1', WATCH_DIR: dir, WATCH_STATE_FILE: join(state, 'watcher.json'), ...env };
  const connect = (service: string, logger: Logger) =>
    Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: service, service, logger });
  const stops: (() => Promise<void>)[] = [];

  const db = createDatabase({ url: iso.databaseUrl, maxConnections: 8 });
  stops.push(() => db.destroy());

  // The gateway reads what the monitor writes.
  const gatewayLogger = testLogger('gateway');
  const gatewayBus = await connect('gateway', gatewayLogger);
  stops.push(() => gatewayBus.close());
  await gatewayBus.ensureStreams();
  const app = createServer({ db, bus: gatewayBus, zones: new Map([[iso.zone.name, openZoneReader(iso.zone)]]), logger: gatewayLogger });
  const { token } = await createApiToken(db, { name: 'e2e', role: 'viewer' });

  let monitor: Monitor;
  const monitorLogger = testLogger('monitor');
  const monitorBus = await connect('monitor', monitorLogger);
  stops.push(() => monitorBus.close());
  const startMonitor = async () => {
    monitor = createMonitor({ bus: monitorBus, db, logger: monitorLogger, instance: 'e2e' });
    await monitor.start();
  };
  await startMonitor();
  stops.push(() => monitor.stop());

  const scheduler = createSchedulerService({ config: schedulerConfig(fullEnv), logger: testLogger('scheduler') });
  stops.push(() => scheduler.stop());
  await scheduler.start();

  let uploader: Uploader;
  const uploaderLogger = testLogger('uploader');
  const uploaderBus = await connect('uploader', uploaderLogger);
  stops.push(() => uploaderBus.close());
  const startUploader = async () => {
    uploader = createUploader({ bus: uploaderBus, logger: uploaderLogger, config: uploaderConfig(fullEnv), backoffMs: [200] });
    await uploader.start();
  };
  await startUploader();
  stops.push(() => uploader.stop());

  const watcherLogger = testLogger('watcher');
  const watcherBus = await connect('watcher', watcherLogger);
  stops.push(() => watcherBus.close());
  const watcher: Watcher = createWatcher({ bus: watcherBus, logger: watcherLogger, config: watcherConfig(fullEnv) });
  await watcher.start();
  stops.push(() => watcher.stop());

  return {
    iso,
    dir,
    app,
    token,
    db,
    async restartUploader() {
      await uploader.stop();
      await startUploader();
    },
    async restartMonitor() {
      await monitor.stop();
      await startMonitor();
    },
    async stop() {
      for (const stop of stops.reverse()) await stop();
      await rm(dir, { recursive: true, force: true });
      await rm(state, { recursive: true, force: true });
    },
  };
}
