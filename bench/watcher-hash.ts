/**
 * Hashing throughput of a 1 GiB file: the watcher's hashing (4 MiB chunks, the next one
 * read while the current one is hashed, through the watcher's hash limit) against Node's
 * own best in the same run (crypto over 4 MiB chunks read synchronously into one
 * buffer), with common's hashFile (read, then hash) for comparison. Target: at least 80%.
 *
 *   npx tsx bench/watcher-hash.ts [sizeMiB]
 */
import { HASH_CHUNK_BYTES, hashFile } from '@ferry/common';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFilePipelined } from '../services/watcher/src/adapters/hasher.js';
import { Limiter } from '../services/watcher/src/domain/limiter.js';

const sizeMiB = Number(process.argv[2] ?? 1024);
const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-hash-'));
const file = join(dir, 'big.raw');

async function makeFile(): Promise<void> {
  const block = randomBytes(16 * 1024 * 1024);
  const handle = await open(file, 'w');
  for (let written = 0; written < sizeMiB * 1024 * 1024; written += block.length) {
    block.writeUInt32LE(written >>> 0, 0);
    await handle.write(block);
  }
  await handle.close();
}

/** Node's best: synchronous 4 MiB reads into one buffer, one hash.update per chunk. */
function reference(): string {
  const fd = openSync(file, 'r');
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, null);
    if (n === 0) break;
    hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
  }
  closeSync(fd);
  return hash.digest('hex');
}

const limiter = new Limiter(2);
const watcher = () => limiter.run(() => hashFilePipelined(file)).then((r) => r.sha256);
const common = () => hashFile(file).then((r) => r.sha256);

async function time(fn: () => Promise<string> | string): Promise<{ ms: number; sha: string }> {
  const start = performance.now();
  const sha = await fn();
  return { ms: performance.now() - start, sha };
}

await makeFile();
const bytes = sizeMiB * 1024 * 1024;
const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
// Warm the page cache so both read the same way.
reference();
const runs = { reference: [] as number[], watcher: [] as number[], common: [] as number[] };
let shaRef = '';
let shaWatcher = '';
for (let i = 0; i < 5; i++) {
  const r = await time(reference);
  const w = await time(watcher);
  const c = await time(common);
  runs.reference.push(r.ms);
  runs.watcher.push(w.ms);
  runs.common.push(c.ms);
  shaRef = r.sha;
  shaWatcher = w.sha;
}
const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratio = mbps(best(runs.watcher)) / mbps(best(runs.reference));
console.log(`hashing ${sizeMiB} MiB (page-cached), 5 runs each, alternating`);
console.log(`  node reference (readSync + crypto, 4 MiB chunks): best ${mbps(best(runs.reference)).toFixed(0)} MB/s, median ${mbps(median(runs.reference)).toFixed(0)} MB/s`);
console.log(`  common hashFile (read, then hash, 4 MiB):        best ${mbps(best(runs.common)).toFixed(0)} MB/s, median ${mbps(median(runs.common)).toFixed(0)} MB/s`);
console.log(`  watcher (reads the next 4 MiB while hashing):     best ${mbps(best(runs.watcher)).toFixed(0)} MB/s, median ${mbps(median(runs.watcher)).toFixed(0)} MB/s`);
console.log(`  watcher / reference: best ${(ratio * 100).toFixed(1)}%, median ${((mbps(median(runs.watcher)) / mbps(median(runs.reference))) * 100).toFixed(1)}% (target >= 80%) ${ratio >= 0.8 ? 'PASS' : 'FAIL'}`);
console.log(`  same digest: ${shaRef === shaWatcher}`);
await rm(dir, { recursive: true, force: true });
