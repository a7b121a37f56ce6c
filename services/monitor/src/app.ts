import {
  Bus,
  errorMessage,
  EVENTS,
  HeartbeatPublisher,
  type Database,
  type EventName,
  type Logger,
  type StreamName,
  type Subscription,
} from '@ferry/common';
import type { Kysely } from 'kysely';
import { Projection } from './adapters/projection.js';

/** What {@link createMonitor} needs. */
export interface MonitorDeps {
  bus: Bus;
  db: Kysely<Database>;
  logger: Logger;
  instance: string;
  version?: string;
  heartbeatIntervalMs?: number;
  /** Durable consumer names start with this; instances sharing it share the work. */
  durablePrefix?: string;
}

/** A running monitor. */
export interface Monitor {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): { projected: number; failed: number };
}

const PROJECTED_STREAMS: readonly StreamName[] = ['FILES', 'JOBS', 'OPS', 'HEARTBEATS', 'DLQ'];

function eventsOf(stream: StreamName): EventName[] {
  return (Object.keys(EVENTS) as EventName[]).filter((name) => EVENTS[name].stream === stream);
}

/**
 * Projects every stored event into PostgreSQL through one durable consumer per stream,
 * and live upload progress into the files' status.
 */
export function createMonitor(deps: MonitorDeps): Monitor {
  const { bus, logger } = deps;
  const projection = new Projection(deps.db);
  const subscriptions: Subscription[] = [];
  let progress: { stop(): void } | undefined;
  const counters = { projected: 0, failed: 0 };
  const heartbeat = new HeartbeatPublisher({
    bus,
    logger,
    service: 'monitor',
    instance: deps.instance,
    version: deps.version ?? '0.0.0',
    intervalMs: deps.heartbeatIntervalMs,
    details: () => ({ ...counters }),
  });

  return {
    stats: () => ({ ...counters }),
    async start() {
      for (const stream of PROJECTED_STREAMS) {
        const sub = await bus.consume({
          stream,
          durable: `${deps.durablePrefix ?? 'monitor'}-${stream.toLowerCase()}`,
          events: eventsOf(stream),
          // One at a time per stream keeps each stream's order; streams run side by side.
          concurrency: 1,
          maxDeliver: 10,
          backoffMs: [500, 2000, 10_000, 30_000],
          handler: async (msg) => {
            try {
              await projection.apply(msg.name, msg.event);
              counters.projected++;
            } catch (err) {
              counters.failed++;
              throw err;
            }
          },
        });
        subscriptions.push(sub);
      }
      progress = bus.subscribeCore('upload.progress', (event) => {
        projection.uploading(event.fileId, event.at).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'progress not projected'));
      });
      heartbeat.start();
    },
    async stop() {
      progress?.stop();
      progress = undefined;
      await Promise.allSettled(subscriptions.splice(0).map((s) => s.stop()));
      await heartbeat.stop();
    },
  };
}
