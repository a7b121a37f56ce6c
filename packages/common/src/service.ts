import type { Logger } from 'pino';
import { redactConfig } from './config.js';
import { ConfigError, errorMessage } from './errors.js';
import { createLogger } from './logger.js';
import { serveMetrics, startDefaultMetrics, type MetricsServer } from './metrics.js';
import { ShutdownRegistry } from './shutdown.js';
import { setupTelemetry } from './tracing.js';

interface BaseConfig {
  LOG_LEVEL: string;
  FERRY_INSTANCE: string;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  METRICS_PORT?: number | undefined;
  METRICS_HOST?: string | undefined;
}

/** What a service's `start` receives from {@link runService}. */
export interface ServiceHandle<C> {
  config: C;
  logger: Logger;
  shutdown: ShutdownRegistry;
}

/**
 * The common body of every `main.ts`: parse the config (a bad setting prints one clear
 * message and exits 78, EX_CONFIG), set up logging and tracing, call `start`, and run
 * the shutdown registry on SIGINT/SIGTERM.
 */
export async function runService<C extends BaseConfig>(options: {
  service: string;
  version?: string;
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  start: (handle: ServiceHandle<C>) => Promise<void>;
}): Promise<void> {
  let config: C;
  try {
    config = options.loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger({ service: options.service, instance: config.FERRY_INSTANCE, level: config.LOG_LEVEL });
  const telemetry = setupTelemetry({
    service: options.service,
    version: options.version,
    instance: config.FERRY_INSTANCE,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const shutdown = new ShutdownRegistry({ logger });
  shutdown.listen();
  logger.info({ config: redactConfig(config as unknown as Record<string, unknown>) }, `${options.service} starting`);
  startDefaultMetrics({ service: options.service, instance: config.FERRY_INSTANCE });
  let metrics: MetricsServer | undefined;
  try {
    if (config.METRICS_PORT !== undefined) metrics = await serveMetrics({ port: config.METRICS_PORT, host: config.METRICS_HOST, logger });
    await options.start({ config, logger, shutdown });
    // Scrapes keep working while the service drains; the endpoint goes with the last steps.
    const served = metrics;
    if (served) shutdown.add('metrics', () => served.close());
    shutdown.add('telemetry', () => telemetry.shutdown());
    shutdown.add('logger', () => new Promise<void>((resolve) => logger.flush(() => resolve())));
    logger.info(`${options.service} started`);
  } catch (err) {
    logger.fatal({ err: errorMessage(err), cause: err instanceof Error && err.cause ? errorMessage(err.cause) : undefined }, `${options.service} failed to start`);
    await shutdown.run('start failed');
    await metrics?.close();
    process.exit(1);
  }
}
