import {
  Bus,
  errorMessage,
  fileIdFor,
  getTracer,
  hashFile,
  HeartbeatPublisher,
  SpanKind,
  withSpan,
  type Logger,
} from '@ferry/common';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FolderEvents } from './adapters/folder-events.js';
import { Inventory } from './adapters/inventory.js';
import type { WatcherConfig } from './config.js';
import { toEventPath } from './domain/names.js';
import { StabilityTracker } from './domain/stability.js';

/** What {@link createWatcher} needs. */
export interface WatcherDeps {
  bus: Bus;
  logger: Logger;
  config: Pick<
    WatcherConfig,
    | 'INSTRUMENT'
    | 'WATCH_DIR'
    | 'WATCH_STABLE'
    | 'WATCH_POLL'
    | 'WATCH_POLL_INTERVAL'
    | 'WATCH_RESCAN'
    | 'WATCH_HASH_CONCURRENCY'
    | 'WATCH_STATE_FILE'
    | 'WATCH_ZONE'
    | 'HEARTBEAT_INTERVAL'
    | 'FERRY_INSTANCE'
  >;
  version?: string;
  now?: () => number;
}

/** A running watcher. */
export interface Watcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Figures for heartbeats and tests. */
  stats(): { pending: number; hashing: number; announced: number; unreadable: number; lastDetectionAt: string | null };
}

const RETRY_UNREADABLE_MS = 30_000;

/**
 * Watches one instrument folder and publishes `file.detected` once per complete,
 * hashed acquisition. A file is complete when its size and mtime stayed the same for
 * the stability window, and still are after hashing.
 */
export function createWatcher(deps: WatcherDeps): Watcher {
  const { bus, config } = deps;
  const logger = deps.logger.child({ instrument: config.INSTRUMENT });
  const now = deps.now ?? Date.now;
  const tracer = getTracer('watcher');
  const tracker = new StabilityTracker(config.WATCH_STABLE);
  const inventory = new Inventory(config.WATCH_STATE_FILE, config.INSTRUMENT, logger);
  const queued: string[] = [];
  const hashing = new Set<string>();
  const unreadable = new Map<string, string>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let announced = 0;
  let lastDetectionAt: string | null = null;
  let ticker: NodeJS.Timeout | undefined;
  let rescanTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const folder = new FolderEvents({
    dir: config.WATCH_DIR,
    poll: config.WATCH_POLL,
    pollIntervalMs: config.WATCH_POLL_INTERVAL,
    onTouch: (rel) => void look(rel),
    onGone: (rel) => tracker.forget(rel),
    onError: (err) => logger.error({ err: errorMessage(err) }, 'folder watch error'),
  });

  const heartbeat = new HeartbeatPublisher({
    bus,
    logger,
    service: 'watcher',
    instance: `${config.INSTRUMENT}-${config.FERRY_INSTANCE}`.slice(0, 64),
    version: deps.version ?? '0.0.0',
    intervalMs: config.HEARTBEAT_INTERVAL,
    volumes: () => [config.WATCH_DIR],
    details: () => {
      const s = stats();
      return { instrument: config.INSTRUMENT, filesPending: s.pending, hashing: s.hashing, unreadable: s.unreadable, lastDetectionAt: s.lastDetectionAt, ...firstUnreadable() };
    },
  });

  function firstUnreadable(): Record<string, string> {
    const first = unreadable.entries().next();
    return first.done ? {} : { unreadablePath: first.value[0], unreadableError: first.value[1] };
  }

  function stats() {
    return { pending: tracker.size + queued.length, hashing: hashing.size, announced, unreadable: unreadable.size, lastDetectionAt };
  }

  /** Looks at a path: announced already, still changing, or stable. */
  async function look(rel: string): Promise<void> {
    if (stopped || hashing.has(rel) || queued.includes(rel)) return;
    let info;
    try {
      info = await stat(join(config.WATCH_DIR, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') tracker.forget(rel);
      else logger.warn({ path: rel, err: errorMessage(err) }, 'cannot stat');
      return;
    }
    if (!info.isFile()) return;
    if (inventory.isAnnounced(rel, info.size, info.mtimeMs)) {
      tracker.forget(rel);
      return;
    }
    const verdict = tracker.observe(rel, { size: info.size, mtimeMs: info.mtimeMs }, now());
    if (verdict === 'stable') {
      tracker.forget(rel);
      queued.push(rel);
      pump();
    }
  }

  /** Re-examines every candidate whose window has passed. */
  function tick(): void {
    const t = now();
    for (const rel of tracker.paths()) {
      const due = tracker.dueAt(rel);
      if (due !== undefined && due <= t) void look(rel);
    }
  }

  function pump(): void {
    while (!stopped && hashing.size < config.WATCH_HASH_CONCURRENCY && queued.length > 0) {
      const rel = queued.shift()!;
      hashing.add(rel);
      const p = announce(rel)
        .catch((err: unknown) => {
          logger.error({ path: rel, err: errorMessage(err) }, 'announcing failed; will look again');
          retryLater(rel, 5000);
        })
        .finally(() => {
          hashing.delete(rel);
          inFlight.delete(p);
          pump();
        });
      inFlight.add(p);
    }
  }

  function retryLater(rel: string, delayMs: number): void {
    if (stopped) return;
    const timer = setTimeout(() => {
      retryTimers.delete(timer);
      void look(rel);
    }, delayMs);
    retryTimers.add(timer);
  }

  async function announce(rel: string): Promise<void> {
    const full = join(config.WATCH_DIR, rel);
    const before = await stat(full).catch(() => undefined);
    if (!before) return;
    let digest;
    try {
      digest = await hashFile(full, { signal: abort.signal });
    } catch (err) {
      if (abort.signal.aborted) return;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      unreadable.set(rel, errorMessage(err));
      logger.warn({ path: rel, err: errorMessage(err) }, 'cannot read file; will retry');
      retryLater(rel, RETRY_UNREADABLE_MS);
      return;
    }
    unreadable.delete(rel);
    const after = await stat(full).catch(() => undefined);
    // Written to while we hashed: the hash is of no complete state. Start the window again.
    if (!after || after.size !== before.size || after.mtimeMs !== before.mtimeMs || digest.size !== after.size) {
      if (after) void look(rel);
      return;
    }
    const path = toEventPath(rel);
    const fileId = fileIdFor(config.INSTRUMENT, path, digest.sha256);
    const detectedAt = new Date(now()).toISOString();
    await withSpan(tracer, 'file.detect', { kind: SpanKind.INTERNAL, attributes: { 'ferry.instrument': config.INSTRUMENT, 'ferry.file.id': fileId, 'ferry.file.path': path, 'ferry.file.size': digest.size } }, async () => {
      await bus.publish('file.detected', {
        fileId,
        instrument: config.INSTRUMENT,
        path,
        root: config.WATCH_DIR,
        kind: 'file',
        size: digest.size,
        sha256: digest.sha256,
        mtime: after.mtime.toISOString(),
        detectedAt,
        zone: config.WATCH_ZONE,
        watcher: config.FERRY_INSTANCE,
      });
    });
    inventory.record(rel, { size: after.size, mtimeMs: after.mtimeMs, sha256: digest.sha256, fileId, announcedAt: detectedAt });
    announced++;
    lastDetectionAt = detectedAt;
    logger.info({ path, size: digest.size, sha256: digest.sha256, fileId }, 'file detected');
  }

  async function rescan(): Promise<void> {
    try {
      const count = await folder.rescan();
      logger.debug({ files: count }, 'rescan done');
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'rescan failed');
    }
  }

  return {
    stats,
    async start() {
      await inventory.load();
      await folder.start();
      ticker = setInterval(tick, Math.max(50, Math.min(1000, Math.floor(config.WATCH_STABLE / 4))));
      rescanTimer = setInterval(() => void rescan(), config.WATCH_RESCAN);
      heartbeat.start();
      logger.info({ dir: config.WATCH_DIR, stableMs: config.WATCH_STABLE, poll: config.WATCH_POLL, known: inventory.size }, 'watching');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      clearInterval(rescanTimer);
      for (const t of retryTimers) clearTimeout(t);
      abort.abort();
      await folder.stop().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'closing the folder watch failed'));
      await Promise.allSettled([...inFlight]);
      await heartbeat.stop();
      await inventory.flush();
    },
  };
}
