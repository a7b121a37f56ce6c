import type { Bus } from '@ferry/common/bus';
import { errorMessage } from '@ferry/common/errors';
import { HeartbeatPublisher } from '@ferry/common/heartbeat';
import type { Logger } from '@ferry/common/logger';
import { dirname } from 'node:path';
import type { HashFn } from './announcer.js';
import type { WatcherConfig } from './config.js';
import { InstrumentWatcher, type InstrumentStats } from './instrument-watcher.js';

/** What {@link createWatcher} needs. */
export interface WatcherDeps {
  bus: Bus;
  logger: Logger;
  config: Pick<WatcherConfig, 'instruments' | 'FERRY_INSTANCE' | 'HEARTBEAT_INTERVAL'>;
  version?: string;
  now?: () => number;
  /** Replaces common's `hashFile` (tests: slow or failing reads). */
  hash?: HashFn;
}

/** Totals over every instrument, for tests and logs. */
export type WatcherStats = Omit<InstrumentStats, 'instrument'>;

/** A running watcher: one {@link InstrumentWatcher} and one heartbeat per instrument. */
export interface Watcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): WatcherStats;
  readonly instruments: readonly InstrumentWatcher[];
}

/** Extra heartbeats (on a new failure or unreadable file) come at most this often. */
const NOTABLE_BEAT_MS = 1000;

/**
 * The watcher: each configured instrument folder watched on its own, with heartbeats
 * every interval carrying its volume's free and total bytes, files pending, hashing in
 * progress, the last detection, and unreadable files and failed acquisitions.
 */
export function createWatcher(deps: WatcherDeps): Watcher {
  const { bus, config } = deps;
  const parts = config.instruments.map((instrument) => {
    const logger = deps.logger;
    let lastExtraBeat = 0;
    let pendingBeat: NodeJS.Timeout | undefined;
    const notable = () => {
      if (pendingBeat) return;
      const wait = Math.max(0, lastExtraBeat + NOTABLE_BEAT_MS - Date.now());
      pendingBeat = setTimeout(() => {
        pendingBeat = undefined;
        lastExtraBeat = Date.now();
        heartbeat.beat();
      }, wait);
    };
    const watcher = new InstrumentWatcher({ config: instrument, bus, logger, watcher: config.FERRY_INSTANCE, now: deps.now, hash: deps.hash, onNotable: notable });
    const heartbeat = new HeartbeatPublisher({
      bus,
      logger,
      service: 'watcher',
      instance: `${instrument.name}-${config.FERRY_INSTANCE}`.slice(0, 64),
      version: deps.version ?? '0.0.0',
      intervalMs: config.HEARTBEAT_INTERVAL,
      volumes: () => [instrument.folder, dirname(instrument.stateFile)],
      details: () => watcher.details(),
    });
    return { watcher, heartbeat, cancel: () => clearTimeout(pendingBeat) };
  });

  return {
    instruments: parts.map((p) => p.watcher),
    async start() {
      for (const p of parts) {
        await p.watcher.start();
        p.heartbeat.start();
      }
    },
    async stop() {
      // Each part stops even when another fails to.
      for (const p of parts) {
        p.cancel();
        await p.watcher.stop().catch((err: unknown) => deps.logger.error({ instrument: p.watcher.config.name, err: errorMessage(err) }, 'stopping the watcher failed'));
        await p.heartbeat.stop();
      }
    },
    stats() {
      const all = parts.map((p) => p.watcher.stats());
      const sum = (k: Exclude<keyof InstrumentStats, 'instrument' | 'lastDetectionAt'>) => all.reduce((n, s) => n + s[k], 0);
      const last = all.map((s) => s.lastDetectionAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
      return {
        pending: sum('pending'),
        hashing: sum('hashing'),
        hashedFiles: sum('hashedFiles'),
        announced: sum('announced'),
        duplicates: sum('duplicates'),
        known: sum('known'),
        empty: sum('empty'),
        unreadable: sum('unreadable'),
        failed: sum('failed'),
        lastDetectionAt: last,
      };
    },
  };
}
