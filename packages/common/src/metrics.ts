import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * Prometheus metrics shared by every service. All metrics live in one process-wide
 * registry (prom-client's default), so the bus, the heartbeat and a service's own code
 * can each add theirs without passing a registry around. The helpers below get or
 * create a metric by name, so building a service twice in one process (as tests do)
 * does not fail on a duplicate registration.
 */
export const metricsRegistry = register;

/** Names follow Prometheus conventions: `ferry_` prefix, base units, `_total` on counters. */
export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = register.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [register] });
}

/** A gauge; `collect` (when given) runs at each scrape to set the current values. */
export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (g: Gauge<L>) => void | Promise<void>): Gauge<L> {
  const existing = register.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [register],
    ...(collect ? { collect(this: Gauge<L>) { return collect(this); } } : {}),
  });
}

/** Seconds buckets from 5 ms to 10 min, wide enough for handlers, hashes and uploads alike. */
export const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600];

export function histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets: number[] = DURATION_BUCKETS): Histogram<L> {
  const existing = register.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [register] });
}

/** Metrics the bus keeps for every service: events published, and consumed by outcome. */
export const busMetrics = {
  published: counter('ferry_events_published_total', 'Events published, by event name.', ['event']),
  consumed: counter('ferry_events_consumed_total', 'Events consumed, by event name, consumer and outcome (handled, retried, dead_lettered).', ['event', 'consumer', 'outcome']),
  handlerSeconds: histogram('ferry_event_handler_duration_seconds', 'Time spent handling one event, by event name and consumer.', ['event', 'consumer']),
};

let defaultsStarted = false;

/** Labels every series with the service and instance, and adds Node's process metrics once. */
export function startDefaultMetrics(labels: { service: string; instance: string }): void {
  register.setDefaultLabels(labels);
  if (defaultsStarted) return;
  defaultsStarted = true;
  collectDefaultMetrics({ register });
}

/** The exposition text and its content type, for servers that mount `/metrics` themselves. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: register.contentType, body: await register.metrics() };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on its own port, for services that have no HTTP server of their
 * own. Nothing else is served: every other path is a 404.
 */
export async function serveMetrics(options: { port: number; host?: string; logger?: Logger }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: only GET /metrics is served here\n');
      return;
    }
    renderMetrics().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: unknown) => {
        options.logger?.error({ err: String(err) }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger?.info({ port }, 'metrics served on /metrics');
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
