/**
 * Detection latency after the last write, on native events and on polling: instrument-
 * like writers (appends with pauses shorter than the window) and files copied in one go,
 * against the watcher running as its own process with its default poll interval.
 * Target: p95 within the stability window + 2 s; never before the window.
 *
 *   npm run build && npx tsx bench/watcher-latency.ts [windowSeconds]
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchNats, percentile, spawnWatcher, stopWatcher, until } from './watcher-support.js';

const windowMs = Number(process.argv[2] ?? 3) * 1000;
const WRITERS = 24;
const COPIES = 12;

const { nats, bus } = await benchNats('benchlat');
const received = new Map<string, number>();
await bus.consume({
  stream: 'FILES',
  durable: 'latency',
  filter: 'file.detected.>',
  events: ['file.detected'],
  concurrency: 16,
  handler: (m) => {
    if (m.name === 'file.detected') received.set(`${m.event.instrument}/${m.event.path}`, Date.now());
    return Promise.resolve();
  },
});

async function run(mode: 'native' | 'poll') {
  const dir = await mkdtemp(join(tmpdir(), `ferry-bench-lat-${mode}-`));
  const state = await mkdtemp(join(tmpdir(), 'ferry-bench-state-'));
  const instrument = `lat-${mode}`;
  const child = spawnWatcher({
    NATS_URL: nats.url,
    NATS_PREFIX: 'benchlat',
    INSTRUMENT: instrument,
    WATCH_DIR: dir,
    WATCH_STABLE: `${windowMs}ms`,
    WATCH_POLL: mode === 'poll' ? 'true' : 'false',
    WATCH_STATE_FILE: join(state, 'inv.jsonl'),
    FERRY_INSTANCE: 'bench',
  });
  await sleep(1500);
  const lastWrite = new Map<string, { at: number; kind: 'writer' | 'copy' }>();
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < WRITERS + COPIES; i++) {
    const copy = i % 3 === 2;
    const name = `${copy ? 'copy' : 'run'}-${String(i).padStart(2, '0')}.raw`;
    jobs.push(
      (async () => {
        await sleep(i * 350);
        const path = join(dir, name);
        if (copy) {
          await writeFile(path, randomBytes(1024 * 1024));
        } else {
          for (let piece = 0; piece < 6; piece++) {
            if (piece > 0) await sleep(200 + Math.random() * (windowMs - 400));
            await appendFile(path, randomBytes(256 * 1024));
          }
        }
        lastWrite.set(`${instrument}/${name}`, { at: Date.now(), kind: copy ? 'copy' : 'writer' });
      })(),
    );
  }
  await Promise.all(jobs);
  await until('every file announced', () => [...lastWrite.keys()].every((k) => received.has(k)), windowMs * 4 + 30_000);
  await stopWatcher(child);
  const latency = { writer: [] as number[], copy: [] as number[] };
  for (const [key, w] of lastWrite) latency[w.kind].push(received.get(key)! - w.at);
  const all = [...latency.writer, ...latency.copy];
  const p95 = percentile(all, 95);
  const fmt = (xs: number[]) => `p50 ${(percentile(xs, 50) / 1000).toFixed(2)} s, p95 ${(percentile(xs, 95) / 1000).toFixed(2)} s, max ${(Math.max(...xs) / 1000).toFixed(2)} s, min ${(Math.min(...xs) / 1000).toFixed(2)} s`;
  console.log(`${mode === 'native' ? 'native events' : 'polling (default 1 s interval)'}: ${all.length} files, window ${windowMs / 1000} s`);
  console.log(`  instrument-like writers (${latency.writer.length}): ${fmt(latency.writer)}`);
  console.log(`  copied in one go (${latency.copy.length}):         ${fmt(latency.copy)}`);
  console.log(`  all: p95 ${(p95 / 1000).toFixed(2)} s (target <= ${(windowMs + 2000) / 1000} s) ${p95 <= windowMs + 2000 ? 'PASS' : 'FAIL'}; earliest ${(Math.min(...all) / 1000).toFixed(2)} s after the last write (never before the window: ${Math.min(...all) >= windowMs ? 'yes' : 'NO'})`);
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
}

try {
  await run('native');
  await run('poll');
} finally {
  await bus.close();
  await nats.stop();
}
