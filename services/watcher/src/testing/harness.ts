import { Bus } from '@ferry/common/bus';
import type { EventOf } from '@ferry/common/events';
import { isolate, testLogger } from '@ferry/testkit';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWatcher, type Watcher, type WatcherDeps } from '../app.js';
import { loadConfig, type WatcherConfig } from '../config.js';

/** One detection as a consumer saw it, with when it arrived. */
export interface Seen {
  event: EventOf<'file.detected'>;
  at: number;
}

/**
 * A test's own NATS prefix, instrument folder and state folder, with consumers recording
 * every `file.detected` and the latest heartbeat details per instance.
 */
export async function watcherHarness() {
  const iso = await isolate('watch');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-watch-'));
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-state-'));
  const logger = testLogger('watcher');
  const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'w', service: 'watcher', logger });
  await bus.ensureStreams();
  const seen: Seen[] = [];
  const beats = new Map<string, EventOf<'heartbeat'>>();
  await bus.consume({
    stream: 'FILES',
    durable: 'probe',
    filter: 'file.detected.>',
    events: ['file.detected'],
    handler: (m) => {
      if (m.name === 'file.detected') seen.push({ event: m.event, at: Date.now() });
      return Promise.resolve();
    },
  });
  await bus.consume({
    stream: 'HEARTBEATS',
    durable: 'beats',
    filter: 'heartbeat.watcher.>',
    events: ['heartbeat'],
    deliverPolicy: 'new',
    handler: (m) => {
      if (m.name === 'heartbeat') beats.set(m.event.instance, m.event);
      return Promise.resolve();
    },
  });
  const watchers: Watcher[] = [];
  return {
    iso,
    dir,
    stateDir,
    bus,
    seen,
    beats,
    /** Settings for one instrument `ms1` on `dir`, as the environment shorthand gives them. */
    config(env: Record<string, string> = {}): WatcherConfig {
      return loadConfig({ ...iso.env, INSTRUMENT: 'ms1', WATCH_DIR: dir, WATCH_STABLE: '600ms', WATCH_STATE_FILE: join(stateDir, 'ms1.jsonl'), HEARTBEAT_INTERVAL: '500ms', ...env });
    },
    async start(config: WatcherConfig, extra: Partial<Pick<WatcherDeps, 'hash'>> = {}): Promise<Watcher> {
      const w = createWatcher({ bus, logger, config, ...extra });
      watchers.push(w);
      await w.start();
      return w;
    },
    paths: () => seen.map((s) => s.event.path).sort(),
    async close() {
      for (const w of watchers) await w.stop();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export type Harness = Awaited<ReturnType<typeof watcherHarness>>;
