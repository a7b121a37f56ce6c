/**
 * A tree of 100k existing files: the first scan (walk, stability window, hash, announce,
 * journal), the watcher's peak resident memory, and a restart with the inventory (time
 * until every file has been looked at again, and how many were hashed again: none).
 * The watcher runs as its own process (dist/main.js); figures come from its heartbeats
 * and /proc. Targets: first scan < 60 s, RSS < 300 MB, restart < 10 s with no re-hash.
 *
 *   npm run build && npx tsx bench/watcher-scale.ts [files] [poll]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchNats, cpuSecondsOf, heartbeats, rssOf, spawnWatcher, stopWatcher, until } from './watcher-support.js';

const FILES = Number(process.argv[2] ?? 100_000);
const POLL = process.argv[3] === 'poll';
const PER_DIR = 500;
const WINDOW_MS = 2000;

const root = await mkdtemp(join(tmpdir(), 'ferry-bench-scale-'));
const tree = join(root, 'tree');
const state = join(root, 'state');
let began = performance.now();
for (let d = 0; d < FILES / PER_DIR; d++) {
  const dir = join(tree, `2024-${String(d % 12).padStart(2, '0')}`, `batch-${String(d).padStart(4, '0')}`);
  await mkdir(dir, { recursive: true });
  await Promise.all(Array.from({ length: PER_DIR }, (_, i) => writeFile(join(dir, `run-${i}.raw`), `acquisition ${d}/${i} `.repeat(10))));
}
console.log(`tree: ${FILES} files in ${FILES / PER_DIR} folders, made in ${((performance.now() - began) / 1000).toFixed(1)} s`);

const { nats, bus } = await benchNats('benchscale');
const beats = heartbeats(bus);
const env = {
  NATS_URL: nats.url,
  NATS_PREFIX: 'benchscale',
  INSTRUMENT: 'scale',
  FERRY_INSTANCE: 'bench',
  WATCH_DIR: tree,
  WATCH_STABLE: `${WINDOW_MS}ms`,
  WATCH_POLL: POLL ? 'true' : 'false',
  WATCH_STATE_FILE: join(state, 'inventory.jsonl'),
  HEARTBEAT_INTERVAL: '250ms',
};
const beat = () => beats.get('scale-bench')?.details;
const settled = (since: number) => {
  const b = beats.get('scale-bench');
  const d = b?.details;
  return b && Date.parse(b.at) > since && d && d.lastScanAt !== null && d.toLook === 0 && d.filesPending === 0 && d.hashing === 0 ? d : undefined;
};

async function phase(name: string, expectAnnounced: number) {
  beats.clear();
  const start = Date.now();
  began = performance.now();
  const child = spawnWatcher(env);
  let peak = 0;
  const sampler = setInterval(() => {
    void rssOf(child.pid!).then((r) => (peak = Math.max(peak, r.peakMB)), () => undefined);
  }, 200);
  const progress = process.env.PROGRESS
    ? setInterval(() => {
        const d = beat();
        if (d) console.log(`  t=${((performance.now() - began) / 1000).toFixed(1)}s toLook=${d.toLook} pending=${d.filesPending} inFlight=${d.inFlight} hashing=${d.hashing} hashed=${d.hashedFiles} announced=${d.announced} rss=${d.rssMB} heap=${d.heapUsedMB}`);
      }, 1000)
    : undefined;
  const d = await until(`${name} to settle`, () => {
    const s = settled(start);
    return s && s.announced === expectAnnounced ? s : undefined;
  }, 600_000);
  clearInterval(progress);
  const seconds = (performance.now() - began) / 1000;
  const rss = await rssOf(child.pid!);
  const cpu = await cpuSecondsOf(child.pid!);
  clearInterval(sampler);
  peak = Math.max(peak, rss.peakMB);
  const stream = await bus.jsm.streams.info(bus.streamName('FILES'));
  began = performance.now();
  await stopWatcher(child);
  const stopS = (performance.now() - began) / 1000;
  return { seconds, d, peak, rss, cpu, messages: stream.state.messages, stopS };
}

try {
  const first = await phase('first scan', FILES);
  console.log(`first scan (${POLL ? 'polling' : 'native events'}, window ${WINDOW_MS / 1000} s): ${first.seconds.toFixed(1)} s from process start to all ${first.d.announced} announced and journaled (target < 60 s) ${first.seconds < 60 ? 'PASS' : 'FAIL'}`);
  console.log(`  walk ${first.d.lastScanMs} ms; hashed ${first.d.hashedFiles} files; file.detected in the stream: ${first.messages}; watcher CPU ${first.cpu.toFixed(1)} s`);
  console.log(`  peak RSS ${first.peak} MB, RSS at the end ${first.rss.nowMB} MB (target < 300 MB) ${first.peak < 300 ? 'PASS' : 'FAIL'}; stopped in ${first.stopS.toFixed(1)} s`);
  const again = await phase('restart', 0);
  console.log(`restart with the inventory: ${again.seconds.toFixed(1)} s from process start to every file looked at (target < 10 s) ${again.seconds < 10 ? 'PASS' : 'FAIL'}`);
  console.log(`  watcher CPU ${again.cpu.toFixed(1)} s`);
  console.log(`  known ${again.d.known}, re-hashed ${again.d.hashedFiles} (target 0) ${again.d.hashedFiles === 0 ? 'PASS' : 'FAIL'}, announced again ${again.d.announced}; file.detected in the stream: ${again.messages}`);
  console.log(`  peak RSS ${again.peak} MB, RSS at the end ${again.rss.nowMB} MB`);
} finally {
  await bus.close();
  await nats.stop();
  await rm(root, { recursive: true, force: true });
}
