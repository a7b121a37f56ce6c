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
import { AlertEngine, type AlertingOptions } from './alerting.js';
import { defaultAlertSettings } from './domain/settings.js';
import { projected, trackState } from './metrics.js';

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
  /**
   * Messages projected at once per stream (default 4). Safe because the projection is
   * order-independent and serialises each file with a lock; OPS stays at one.
   */
  projectionConcurrency?: number;
  /** Rules, lifecycle and notifications; on by default with no receivers. `false` turns alerting off. */
  alerting?: AlertingOptions | false;
}

/** A running monitor. */
export interface Monitor {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): { projected: number; failed: number };
  /** The alert engine, when alerting is on. */
  readonly alerts: AlertEngine | undefined;
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
  const settings = deps.alerting ? (deps.alerting.settings ?? defaultAlertSettings()) : defaultAlertSettings();
  const projection = new Projection(deps.db, { diskSampleEveryMs: settings.disk.forecast.sampleEvery });
  const subscriptions: Subscription[] = [];
  const durable = (stream: StreamName) => `${deps.durablePrefix ?? 'monitor'}-${stream.toLowerCase()}`;
  // Where each stream ended when this instance started: rules wait until the projection got there.
  const startSeq = new Map<StreamName, number>();
  const caughtUp = async (): Promise<boolean> => {
    for (const [stream, seq] of startSeq) {
      const info = await bus.jsm.consumers.info(bus.streamName(stream), durable(stream));
      if (info.num_pending > 0 && info.ack_floor.stream_seq < seq) return false;
    }
    return true;
  };
  const alerts = deps.alerting === false ? undefined : new AlertEngine({ db: deps.db, bus, logger, options: { ...(deps.alerting ?? {}), settings }, caughtUp });
  let progress: { stop(): void } | undefined;
  let untrackState: (() => void) | undefined;
  const counters = { projected: 0, failed: 0 };
  const heartbeat = new HeartbeatPublisher({
    bus,
    logger,
    service: 'monitor',
    instance: deps.instance,
    version: deps.version ?? '0.0.0',
    intervalMs: deps.heartbeatIntervalMs,
    details: () => ({ ...counters, leader: alerts?.leader.isLeader() ?? false }),
  });

  return {
    alerts,
    stats: () => ({ ...counters }),
    async start() {
      for (const stream of PROJECTED_STREAMS) {
        const info = await bus.jsm.streams.info(bus.streamName(stream));
        startSeq.set(stream, info.state.last_seq);
        const sub = await bus.consume({
          stream,
          durable: durable(stream),
          events: eventsOf(stream),
          concurrency: stream === 'OPS' ? 1 : Math.max(1, deps.projectionConcurrency ?? 4),
          maxDeliver: 10,
          backoffMs: [500, 2000, 10_000, 30_000],
          handler: async (msg) => {
            try {
              await projection.apply(msg.name, msg.event);
              counters.projected++;
              projected(msg.name, msg.event);
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
      alerts?.start();
      untrackState = trackState(deps.db, logger);
    },
    async stop() {
      untrackState?.();
      untrackState = undefined;
      await alerts?.stop();
      progress?.stop();
      progress = undefined;
      await Promise.allSettled(subscriptions.splice(0).map((s) => s.stop()));
      await heartbeat.stop();
    },
  };
}
