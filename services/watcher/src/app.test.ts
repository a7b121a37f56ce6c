import { Bus, type EventOf } from '@ferry/common';
import { isolate, testLogger, waitFor } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWatcher, type Watcher } from './app.js';
import { loadConfig } from './config.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('watcher against a real nats-server', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(extra: Record<string, string> = {}) {
    const iso = await isolate('watch');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-watch-'));
    const state = join(await mkdtemp(join(tmpdir(), 'ferry-state-')), 'inv.json');
    const logger = testLogger('watcher');
    const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'w', service: 'watcher', logger });
    await bus.ensureStreams();
    const seen: { event: EventOf<'file.detected'>; at: number }[] = [];
    await bus.consume({ stream: 'FILES', durable: 'probe', filter: 'file.detected.>', events: ['file.detected'], handler: (m) => { if (m.name === 'file.detected') seen.push({ event: m.event, at: Date.now() }); return Promise.resolve(); } });
    const config = loadConfig({ ...iso.env, INSTRUMENT: 'ms1', WATCH_DIR: dir, WATCH_STABLE: '600ms', WATCH_STATE_FILE: state, ...extra });
    const watchers: Watcher[] = [];
    const start = async () => {
      const w = createWatcher({ bus, logger, config });
      watchers.push(w);
      await w.start();
      return w;
    };
    cleanups.push(async () => {
      for (const w of watchers) await w.stop();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    });
    return { dir, seen, start };
  }

  for (const poll of [false, true]) {
    it(`announces a slowly written file once, after its last write (${poll ? 'polling' : 'native events'})`, async () => {
      const { dir, seen, start } = await setup({ WATCH_POLL: String(poll), WATCH_POLL_INTERVAL: '100ms' });
      await start();
      const file = join(dir, 'run-1.raw');
      const parts = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3000, 3)];
      let lastWrite = 0;
      for (const part of parts) {
        await appendFile(file, part);
        lastWrite = Date.now();
        await sleep(300); // shorter than the window: must not be announced in between
      }
      await waitFor('file.detected', () => seen.length > 0, { timeoutMs: 5000 });
      await sleep(800);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.at).toBeGreaterThanOrEqual(lastWrite + 600);
      expect(seen[0]!.event.size).toBe(6000);
      expect(seen[0]!.event.sha256).toBe(sha(Buffer.concat(parts)));
      expect(seen[0]!.event.path).toBe('run-1.raw');
    });
  }

  it('never announces an empty file, nor one deleted or renamed to a hidden name before it is stable', async () => {
    const { dir, seen, start } = await setup();
    await start();
    await writeFile(join(dir, 'empty.raw'), '');
    await writeFile(join(dir, 'gone.raw'), 'x');
    await writeFile(join(dir, 'moved.raw'), 'y');
    await sleep(200);
    await rm(join(dir, 'gone.raw'));
    await rename(join(dir, 'moved.raw'), join(dir, '.moved.raw'));
    await writeFile(join(dir, 'sub-marker.raw'), 'marker');
    await waitFor('the marker file', () => seen.some((s) => s.event.path === 'sub-marker.raw'), { timeoutMs: 5000 });
    await sleep(700);
    expect(seen.map((s) => s.event.path)).toEqual(['sub-marker.raw']);
  });

  it('after a restart neither re-hashes nor re-announces unchanged files, but announces new content under an old name', async () => {
    const { dir, seen, start } = await setup();
    await writeFile(join(dir, 'a.raw'), 'first');
    await mkdtemp(join(dir, 'sub-')).then((sub) => writeFile(join(sub, 'b.raw'), 'second'));
    const first = await start();
    await waitFor('two files', () => seen.length === 2, { timeoutMs: 5000 });
    await first.stop();
    const second = await start();
    await sleep(1200);
    expect(seen).toHaveLength(2);
    expect(second.stats().announced).toBe(0);
    await writeFile(join(dir, 'a.raw'), 'first, then rewritten');
    await waitFor('the rewritten file', () => seen.length === 3, { timeoutMs: 5000 });
    expect(seen[2]!.event.path).toBe('a.raw');
    expect(seen[2]!.event.fileId).not.toBe(seen.find((s) => s.event.path === 'a.raw')!.event.fileId);
  });
});
